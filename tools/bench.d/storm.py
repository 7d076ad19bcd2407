#!/usr/bin/env python3
"""An alert storm against a running vigild: one flapping service whose
alerts fire and resolve at RATE alerts/s for DURATION seconds (Alertmanager
webhook v4, batches of BATCH alerts, loopback only), bounded in count and
time. Prints what ingest accepted, how fast, the incidents and actions that
resulted, and whether the audit chain is intact; exits 1 if a request was
refused or the chain is broken.

  storm.py --url http://127.0.0.1:8470 --token-file DATA/admin.token
           [--rate 10000] [--duration 60] [--batch 1000]
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request


def call(url, path, token=None, body=None):
    req = urllib.request.Request(url + path, data=body, method="POST" if body else "GET")
    if body:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, r.read()


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def alert(service, instance, firing, now):
    """One Alertmanager v4 alert of `service`."""
    return {"status": "firing" if firing else "resolved",
            "labels": {"alertname": "PoolExhausted", "service": service,
                       "instance": instance, "severity": "critical"},
            "annotations": {},
            "startsAt": rfc3339(now - 1),
            "endsAt": "0001-01-01T00:00:00Z" if firing else rfc3339(now),
            "generatorURL": "http://prometheus/graph",
            "fingerprint": instance}


def webhook(alerts):
    """An Alertmanager webhook body carrying `alerts`."""
    return json.dumps({"version": "4", "groupKey": "{}:{}",
                       "truncatedAlerts": 0, "status": "firing",
                       "receiver": "vigil", "groupLabels": {},
                       "commonLabels": {}, "commonAnnotations": {},
                       "externalURL": "http://alertmanager",
                       "alerts": alerts}).encode()


def flapping(batch, seq, now):
    """`batch` alerts of the flapping service, firing on odd batches."""
    firing = seq % 2 == 1
    return [alert("flappy", "flappy-%d" % (i % 50), firing, now)
            for i in range(batch)]


def storm(url, rate, duration, batch, extra=None):
    """Posts RATE alerts/s in webhooks of BATCH for DURATION seconds (never
    longer than DURATION + 5 s): the flapping service, plus whatever
    extra(second, now) adds to the first webhook of each second. Returns
    (alerts accepted, requests refused, seconds taken)."""
    per_s = max(1, rate // batch)
    sent = refused = 0
    start = time.time()
    seq = 0
    for second in range(duration):
        tick = start + second
        for k in range(per_s):
            now = time.time()
            seq += 1
            alerts = flapping(batch, seq, now)
            if k == 0 and extra:
                alerts += extra(second, now)
            try:
                status, _ = call(url, "/api/v1/alerts/alertmanager",
                                 body=webhook(alerts))
                sent += len(alerts) if status == 200 else 0
            except urllib.error.HTTPError as e:
                refused += 1
                print("refused: HTTP %d" % e.code, file=sys.stderr)
        if time.time() > start + duration + 5:
            break
        lag = tick + 1 - time.time()
        if lag > 0:
            time.sleep(lag)
    return sent, refused, time.time() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--batch", type=int, default=1000)
    a = ap.parse_args()
    token = open(a.token_file).read().strip()
    sent, refused, took = storm(a.url, a.rate, a.duration, a.batch)
    time.sleep(3)
    _, body = call(a.url, "/api/v1/incidents?status=all&limit=10000", token)
    incidents = json.loads(body)["incidents"]
    _, body = call(a.url, "/api/v1/audit?limit=10000", token)
    kinds = {}
    for r in json.loads(body)["records"]:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    _, body = call(a.url, "/api/v1/audit/verify", token)
    verify = json.loads(body)
    print("alerts accepted %d in %.1f s = %.0f/s; refused requests %d" % (
        sent, took, sent / took, refused))
    print("incidents %d; audit records by kind %s; chain %s" % (
        len(incidents), json.dumps(kinds, sort_keys=True),
        "intact" if verify["ok"] else "BROKEN"))
    return 0 if refused == 0 and verify["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
