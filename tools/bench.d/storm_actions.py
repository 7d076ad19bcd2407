#!/usr/bin/env python3
"""An alert storm that makes the engine act, against every limit, through
the whole pipeline: a real vigild (built in build/bin) on loopback, a
playbook that restarts the pods of any service, and a local HTTPS stand-in
for the Kubernetes API (a real API cannot be reached from here) that
checks the bearer token, the verb and the path of every call and records
when each one came and how many were in flight.

During DURATION seconds one service ("flappy") sends RATE alerts/s that
fire and resolve every batch, and each second another service starts
firing too (OTHERS of them), so the engine gets many incidents to act on.
Afterwards the script checks, from the API stand-in's own records and the
audit log:

  - restarts that reached the API <= remediation.limits.max_restarts_per_hour
  - restarts in flight at once     <= remediation.limits.max_concurrent_actions
  - runs per service               <= the playbook's max_runs_per_hour, and
    no two runs of one service closer than its cooldown
  - every step the engine refused is in the audit log, and every restart
    that reached the API was audited as started before
  - the audit chain verifies; ingest refused no request

and prints the numbers; exit 1 when a check fails. Bounded in time (the
storm, then at most SETTLE seconds of waiting). Loopback only.

  storm_actions.py [--vigild build/bin/vigild] [--rate 10000]
                   [--duration 60] [--batch 1000] [--others 50]
"""

import argparse
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from storm import alert, call, storm  # the plain storm, beside this script

MAX_RESTARTS = 5
MAX_CONCURRENT = 2
RUNS_PER_HOUR = 2
COOLDOWN_S = 60
KUBE_TOKEN = "storm-bench-token"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/prod/leases"
LEASE = "vigil-remediation"


class Kube:
    """What the API stand-in saw."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []  # (start, end, selector)
        self.in_flight = 0
        self.max_in_flight = 0
        self.bad = []
        # The namespace's remediation Lease (coordination.k8s.io/v1) the
        # executor claims before each restart, and every claim's
        # (epoch, idempotency key).
        self.lease = None
        self.version = 0
        self.claims = []


def kube_handler(kube):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_DELETE(self):
            start = time.time()
            if self.headers.get("Authorization") != "Bearer " + KUBE_TOKEN:
                kube.bad.append("no or wrong bearer token: " + self.path)
                return self.reply(401, {"kind": "Status", "code": 401})
            prefix = "/api/v1/namespaces/prod/pods?labelSelector="
            if not self.path.startswith(prefix):
                kube.bad.append("unexpected path " + self.path)
                return self.reply(404, {"kind": "Status", "code": 404})
            selector = urllib.request.unquote(self.path[len(prefix):])
            with kube.lock:
                kube.in_flight += 1
                kube.max_in_flight = max(kube.max_in_flight, kube.in_flight)
            time.sleep(0.2)  # a restart takes a moment
            with kube.lock:
                kube.in_flight -= 1
                kube.calls.append((start, time.time(), selector))
            name = selector.split("=", 1)[-1]
            self.reply(200, {"kind": "PodList", "apiVersion": "v1",
                             "items": [{"metadata": {"name": name + "-0"}},
                                       {"metadata": {"name": name + "-1"}}]})

        def authorized(self):
            if self.headers.get("Authorization") == "Bearer " + KUBE_TOKEN:
                return True
            kube.bad.append("no or wrong bearer token: " + self.path)
            self.reply(401, {"kind": "Status", "code": 401})
            return False

        def do_GET(self):
            if not self.authorized():
                return
            if self.path != LEASES + "/" + LEASE:
                kube.bad.append("unexpected GET " + self.path)
                return self.reply(404, {"kind": "Status", "code": 404})
            with kube.lock:
                if kube.lease is None:
                    return self.reply(404, {"kind": "Status", "code": 404,
                                            "reason": "NotFound"})
                self.reply(200, kube.lease)

        def write_lease(self, create):
            if not self.authorized():
                return
            body = json.loads(self.rfile.read(
                int(self.headers.get("Content-Length", "0"))) or b"{}")
            meta = body.get("metadata", {})
            marks = meta.get("annotations", {})
            ok = (body.get("apiVersion") == "coordination.k8s.io/v1"
                  and body.get("kind") == "Lease"
                  and meta.get("name") == LEASE
                  and self.headers.get("Content-Type") == "application/json"
                  and "vigil.dev/epoch" in marks
                  and "vigil.dev/action" in marks)
            if not ok:
                kube.bad.append("unexpected lease write " + json.dumps(body))
                return self.reply(400, {"kind": "Status", "code": 400})
            with kube.lock:
                if create and kube.lease is not None:
                    return self.reply(409, {"kind": "Status", "code": 409,
                                            "reason": "AlreadyExists"})
                if not create and (kube.lease is None or meta.get(
                        "resourceVersion") != kube.lease["metadata"][
                            "resourceVersion"]):
                    return self.reply(409, {"kind": "Status", "code": 409,
                                            "reason": "Conflict"})
                kube.version += 1
                meta["resourceVersion"] = str(kube.version)
                kube.lease = body
                kube.claims.append((int(marks["vigil.dev/epoch"]),
                                    marks["vigil.dev/action"]))
            self.reply(201 if create else 200, body)

        def do_POST(self):
            if self.path != LEASES:
                kube.bad.append("unexpected POST " + self.path)
                return self.reply(404, {"kind": "Status", "code": 404})
            self.write_lease(True)

        def do_PUT(self):
            if self.path != LEASES + "/" + LEASE:
                kube.bad.append("unexpected PUT " + self.path)
                return self.reply(404, {"kind": "Status", "code": 404})
            self.write_lease(False)

        def do_PATCH(self):
            kube.bad.append("unexpected PATCH " + self.path)
            self.reply(404, {"kind": "Status", "code": 404})

    return Handler


def setup(work, kube_port):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", work + "/kube.key", "-out", work + "/kube.crt",
         "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True)
    with open(work + "/kube.token", "w") as f:
        f.write(KUBE_TOKEN + "\n")
    os.makedirs(work + "/playbooks")
    with open(work + "/playbooks/restart.yaml", "w") as f:
        f.write("""name: restart-anything
description: Restarts the pods of any service with a confident root cause.
match:
  services: ["*"]
  min_severity: 1
autonomy: 3
limits:
  max_runs_per_hour: %d
  cooldown: %ds
steps:
  - name: restart
    action: kubernetes.restart_pods
    with:
      namespace: prod
      selector: "app={{service}}"
      timeout: 10s
verify:
  within: 30s
on_failure: escalate
""" % (RUNS_PER_HOUR, COOLDOWN_S))
    with open(work + "/vigil.yaml", "w") as f:
        f.write("""remediation:
  enabled: true
  kubernetes_api: https://127.0.0.1:%d
  kubernetes_token_file: %s/kube.token
  kubernetes_ca_file: %s/kube.crt
  limits:
    max_restarts_per_hour: %d
    max_concurrent_actions: %d
""" % (kube_port, work, work, MAX_RESTARTS, MAX_CONCURRENT))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigild", default="build/bin/vigild")
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--others", type=int, default=50)
    ap.add_argument("--settle", type=int, default=90)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="vigil-storm-")
    kube = Kube()
    server = ThreadingHTTPServer(("127.0.0.1", 0), kube_handler(kube))
    setup(work, server.server_address[1])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(work + "/kube.crt", work + "/kube.key")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = open(work + "/vigild.out", "w")
    err = open(work + "/vigild.log", "w")
    node = subprocess.Popen(
        [a.vigild, "--config", work + "/vigil.yaml", "--playbooks",
         work + "/playbooks", "--data-dir", work + "/data", "--http",
         "127.0.0.1:0", "--cluster", "127.0.0.1:0", "--log-level", "warn"],
        stdout=out, stderr=err)
    failures = []
    try:
        url = None
        deadline = time.time() + 30
        while time.time() < deadline and url is None:
            if node.poll() is not None:
                sys.exit("vigild exited: " + open(work + "/vigild.log").read())
            for line in open(work + "/vigild.out"):
                if line.startswith("vigild ready") and "http=" in line:
                    url = "http://" + line.split("http=")[1].split()[0]
            time.sleep(0.1)
        if url is None:
            sys.exit("vigild did not become ready")
        token = open(work + "/data/admin.token").read().strip()
        others = ["svc-%02d" % i for i in range(a.others)]
        # Each service behind its own caller: separate parts of the graph,
        # so each fault is its own incident with a confident root cause.
        edges = [{"caller": s + "-client", "callee": s}
                 for s in ["flappy"] + others]
        call(url, "/api/v1/topology", token,
             json.dumps({"edges": edges}).encode())
        # The storm, and each second one more service starts firing.
        def starting(second, now):
            if second < len(others):
                return [alert(others[second], others[second] + "-0", True,
                              now)]
            return []
        sent, refused, took = storm(url, a.rate, a.duration, a.batch,
                                    starting)
        # Let the engine finish what it started: the audit log stops
        # growing for 5 s (bounded by --settle).
        last, stable, deadline = -1, time.time(), time.time() + a.settle
        while time.time() < deadline:
            _, body = call(url, "/api/v1/audit?limit=10000", token)
            n = len(json.loads(body)["records"])
            if n != last:
                last, stable = n, time.time()
            elif time.time() - stable >= 5:
                break
            time.sleep(0.5)
        _, body = call(url, "/api/v1/audit?limit=10000", token)
        records = json.loads(body)["records"]
        _, body = call(url, "/api/v1/audit/verify", token)
        verify = json.loads(body)
        _, body = call(url, "/api/v1/incidents?status=all&limit=10000", token)
        incidents = json.loads(body)["incidents"]
    finally:
        node.terminate()
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.kill()
        server.shutdown()
    kinds = {}
    for r in records:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    started = [r for r in records if r["kind"] == "action_started"]
    refusals = [r for r in records if r["kind"] in ("action_refused",
                                                     "run_refused")]
    reasons = {}
    for r in refusals:
        why = r.get("detail", "")
        key = why.split(":")[0][:60]
        reasons[key] = reasons.get(key, 0) + 1
    calls = sorted(kube.calls)
    per_service = {}
    for s, e, sel in calls:
        per_service.setdefault(sel, []).append(s)
    print("alerts accepted %d in %.1f s = %.0f/s; refused requests %d"
          % (sent, took, sent / took, refused))
    print("incidents %d; audit records by kind %s; chain %s" % (
        len(incidents), json.dumps(kinds, sort_keys=True),
        "intact" if verify["ok"] else "BROKEN"))
    print("restarts that reached the API %d (limit %d); most in flight %d "
          "(limit %d); per service %s" % (
              len(calls), MAX_RESTARTS, kube.max_in_flight, MAX_CONCURRENT,
              json.dumps({k: len(v) for k, v in sorted(per_service.items())})))
    print("lease claims %d (epochs %s)" % (
        len(kube.claims), sorted(set(e for e, _ in kube.claims))))
    print("refusals audited %d, by reason %s" % (
        len(refusals), json.dumps(reasons, sort_keys=True)))
    if refused:
        failures.append("ingest refused %d requests" % refused)
    if not verify["ok"]:
        failures.append("audit chain broken")
    if kube.bad:
        failures.append("API stand-in saw bad calls: %s" % kube.bad[:3])
    # Every restart claimed the namespace's lease first, each with its own
    # idempotency key, and the epoch never went back.
    keys = set(k for _, k in kube.claims)
    if len(keys) < len(calls):
        failures.append("%d restarts but %d lease claims"
                        % (len(calls), len(keys)))
    epochs = [e for e, _ in kube.claims]
    if epochs != sorted(epochs):
        failures.append("lease epochs went back: %s" % epochs)
    if len(calls) > MAX_RESTARTS:
        failures.append("%d restarts > max_restarts_per_hour %d"
                        % (len(calls), MAX_RESTARTS))
    if kube.max_in_flight > MAX_CONCURRENT:
        failures.append("%d restarts in flight > max_concurrent_actions %d"
                        % (kube.max_in_flight, MAX_CONCURRENT))
    for sel, times in per_service.items():
        if len(times) > RUNS_PER_HOUR:
            failures.append("%s restarted %d times > max_runs_per_hour %d"
                            % (sel, len(times), RUNS_PER_HOUR))
        for x, y in zip(times, times[1:]):
            if y - x < COOLDOWN_S - 1:
                failures.append("%s restarted twice within %.0f s < cooldown"
                                % (sel, y - x))
    # Every refusal the incidents show is in the audit log (and no more).
    shown = sum(1 for inc in incidents for x in inc.get("actions", [])
                if x.get("status") in ("refused_limit", "denied", "expired"))
    print("refusals shown on incidents %d, audited %d" % (shown, len(refusals)))
    if shown != len(refusals):
        failures.append("%d refusals on incidents but %d audited"
                        % (shown, len(refusals)))
    if len(started) < len(calls):
        failures.append("%d restarts reached the API but only %d were "
                        "audited as started" % (len(calls), len(started)))
    if not calls:
        failures.append("no restart reached the API: the engine never acted, "
                        "so the limits were not exercised")
    if not refusals:
        failures.append("nothing was refused: the limits were not reached")
    for f in failures:
        print("FAIL: " + f)
    if a.keep or failures:
        print("work dir kept: " + work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
