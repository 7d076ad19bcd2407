"""Drives the demo against a running vigild: replays the bundled scenario
through the real ingest endpoints, waits for the detectors to take every
sample, prints what the node found and checks it. Exit status 0 only when
the anomalies are where the fault was and nowhere else."""

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

import scenario


def call(base, path, token=None, body=None, ctype=None):
    req = urllib.request.Request(base + path, data=body)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if ctype:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=30) as resp:
        data = resp.read()
        return resp.status, data


def metric(base, name):
    _, body = call(base, "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


# In a cluster (VIGIL_DEMO_NODES="ID=PID=HOST:PORT ..."), a node that is
# not the control node is killed at this minute of the scenario, before
# the fault: its shards move to the others with their detectors' state.
KILL_MIN = 60


def kill_one(base, token):
    """Kills (SIGKILL) one member that is neither the control node nor the
    node the demo talks to; waits until the others own every shard."""
    members = {}
    for spec in os.environ.get("VIGIL_DEMO_NODES", "").split():
        node_id, pid, _ = spec.split("=", 2)
        members[node_id] = int(pid)
    _, body = call(base, "/api/v1/cluster", token)
    view = json.loads(body)
    victims = [n["id"] for n in view["nodes"]
               if n["id"] in members and not n["control"]
               and n["id"] != view["node"]]
    if not victims:
        print("!!  no node to kill (control node %s)" % view["control_node"])
        return False
    victim = victims[-1]
    owned = sum(1 for x in view["shards"] if x["owner"] == victim)
    print("\n==> minute %d: killing %s (SIGKILL; it owns %d shards; the "
          "control node is %s)" % (KILL_MIN, victim, owned,
                                  view["control_node"]))
    killed = time.time()
    os.kill(members[victim], signal.SIGKILL)
    detected = None
    deadline = time.time() + 30
    while time.time() < deadline:
        _, body = call(base, "/api/v1/cluster", token)
        view = json.loads(body)
        state = {n["id"]: n["state"] for n in view["nodes"]}
        if detected is None and state.get(victim) == "down":
            detected = time.time() - killed
        live = {i for i, st in state.items() if st in ("up", "suspect")}
        if detected is not None and all(x["owner"] in live
                                        for x in view["shards"]):
            print("    %s declared down after %.1f s; every shard owned "
                  "again after %.1f s" % (victim, detected,
                                           time.time() - killed))
            return True
        time.sleep(0.1)
    print("!!  the cluster did not take over %s's shards in 30 s" % victim)
    return False


def main():
    base, token, sink = sys.argv[1], sys.argv[2], sys.argv[3]
    clustered = bool(os.environ.get("VIGIL_DEMO_NODES", "").strip())
    kill_at = scenario.START + KILL_MIN * 60
    kill_ok = True
    print("==> replaying the scenario: %d minutes of 4 services, fault at "
          "minute %d" % (scenario.MINUTES, scenario.FAULT_MIN))
    call(base, "/api/v1/topology", body=json.dumps(scenario.TOPOLOGY).encode(),
         ctype="application/json")
    call(base, "/api/v1/changes",
         body="\n".join(json.dumps(c) for c in scenario.CHANGES).encode(),
         ctype="application/x-ndjson")
    sent = 0
    chunk = []

    def send(gen):
        nonlocal clustered, kill_ok
        for ts, service, name, value, labels in gen:
            if clustered and ts >= kill_at:
                flush()
                kill_ok = kill_one(base, token)
                clustered = False
            line = {"service": service, "metric": name, "value": value,
                    "ts": ts}
            if labels:
                line["labels"] = labels
            chunk.append(json.dumps(line) + "\n")
            if len(chunk) >= 2000:
                flush()
        flush()

    def flush():
        nonlocal sent, chunk
        if not chunk:
            return
        body = "".join(chunk).encode()
        for attempt in range(50):
            try:
                call(base, "/api/v1/samples", body=body,
                     ctype="application/x-ndjson")
                break
            except urllib.error.HTTPError as e:
                if e.code in (429, 503) and attempt < 49:
                    time.sleep(float(e.headers.get("Retry-After", "1")))
                    continue
                raise
        sent += len(chunk)
        chunk = []

    send(scenario.samples())
    print("    %d samples accepted" % sent)
    # Ingest acknowledges on admission; wait until the detectors took all.
    deadline = time.time() + 60
    # In a cluster the detectors are spread over the nodes (and the killed
    # node's share before the kill is gone with it): wait until the
    # detectors of the live nodes stop taking samples.
    last = -1.0
    while True:
        taken = sum(metric(b, "vigil_detector_samples_total")
                    for b in bases(base, token))
        # counters judge rates, so the first value of each counter series
        # is not a judged sample; allow for that slack but no more.
        if os.environ.get("VIGIL_DEMO_NODES", "").strip():
            if taken == last:
                break
        elif taken >= sent - 1000:
            break
        last = taken
        if time.time() > deadline:
            print("!!  detectors did not catch up in time")
            return 1
        time.sleep(0.2)
    time.sleep(0.5)

    services = []
    for b in bases(base, token):
        _, body = call(b, "/api/v1/services", token)
        services += json.loads(body)["services"]
    services.sort(key=lambda s: s["name"])
    print("\n==> services")
    print("    %-10s %6s %8s %8s %10s" % ("service", "series", "samples",
                                         "warmup", "anomalies"))
    for s in services:
        print("    %-10s %6d %8d %8s %10d" % (s["name"], s["series"],
                                             s["samples"], s["warmup"],
                                             s["anomalies"]))
    _, body = call(base, "/api/v1/anomalies?limit=1000", token)
    anomalies = json.loads(body)["anomalies"]
    onsets = [a for a in anomalies if a["phase"] == "onset"]
    onsets.sort(key=lambda a: a["ts"])
    print("\n==> anomalies (onsets, in event time; the fault began at "
          "minute %d)" % scenario.FAULT_MIN)
    for a in onsets:
        minute = (a["ts"] - scenario.START) / 60
        print("    minute %6.2f  %-10s %-22s score %.2f  value %9.2f  "
              "expected %s..%s  by %s" % (
                  minute, a["service"], a["metric"], a["score"], a["value"],
                  _fmt(a["expected"][0]), _fmt(a["expected"][1]),
                  ",".join(a["detectors"])))

    ok = kill_ok
    early = [a for a in onsets if a["ts"] < scenario.FAULT_TS]
    if early:
        print("!!  %d anomalies before the fault (false alarms)" % len(early))
        ok = False
    stray = [a for a in onsets if a["service"] not in scenario.FAULTY]
    if stray:
        print("!!  anomalies on services the fault never touched: %s" %
              sorted({a["service"] for a in stray}))
        ok = False
    missed = scenario.FAULTY - {a["service"] for a in onsets}
    if missed:
        print("!!  the fault was not seen on: %s" % sorted(missed))
        ok = False
    first = onsets[0] if onsets else None
    if first:
        print("\n    first anomaly: %s %s, %.0f s after the fault began "
              "(event time)" % (first["service"], first["metric"],
                                first["ts"] - scenario.FAULT_TS))
    # The incident: one, opened at the fault, with its root cause ranked.
    inc = None
    deadline = time.time() + 30
    while time.time() < deadline:
        _, body = call(base, "/api/v1/incidents?status=all", token)
        found = [i for i in json.loads(body)["incidents"]
                 if "merged_into" not in i
                 and i["opened_at"] >= scenario.FAULT_TS - 60]
        if len(found) == 1 and found[0]["root_cause"]:
            _, body = call(base, "/api/v1/incidents/" + found[0]["id"], token)
            inc = json.loads(body)
            break
        time.sleep(0.3)
    if not inc:
        print("!!  no single incident with a ranked root cause")
        ok = False
    else:
        rc = inc["root_cause"]
        print("\n==> incident %s: %s, severity %d, %d services" % (
            inc["id"], inc["title"], inc["severity"], len(inc["services"])))
        for c in rc["candidates"][:3]:
            print("    %-10s score %.2f  %s" % (c["service"], c["score"],
                                               "; ".join(c["evidence"][:3])))
        print("    confidence %s (%s)" % (rc["confidence_level"], rc["reason"]))
        print("    timeline:")
        for e in inc["timeline"][:12]:
            print("      minute %6.2f  %-14s %s" % (
                (e["ts"] - scenario.START) / 60, e["kind"], e["text"]))
        if rc["candidates"][0]["service"] != scenario.ROOT_CAUSE:
            print("!!  root cause ranked first: %s, expected %s" % (
                rc["candidates"][0]["service"], scenario.ROOT_CAUSE))
            ok = False
    if inc and not remediate(base, token, inc, send, first):
        ok = False
    if inc and not notified(sink, inc["id"]):
        ok = False
    print("\n==> %s" % ("loop closed: anomalies found where the fault was, "
                        "and only there; one incident, root cause %s, "
                        "playbook run, recovery verified, notified"
                        % scenario.ROOT_CAUSE if ok else "FAILED"))
    return 0 if ok else 1


def bases(base, token):
    """The HTTP addresses of the live members (just `base` on one node)."""
    try:
        _, body = call(base, "/api/v1/cluster", token)
    except urllib.error.HTTPError:
        return [base]
    view = json.loads(body)
    out = ["http://" + n["http"] for n in view["nodes"]
           if n["state"] in ("up", "suspect") and n["http"]]
    return out or [base]


def get_incident(base, token, inc_id):
    _, body = call(base, "/api/v1/incidents/" + inc_id, token)
    return json.loads(body)


def remediate(base, token, inc, send, first):
    """Waits for the playbook's steps, replays the healed tail, waits for
    the verified recovery; prints actions, timeline and MTTD/MTTR."""
    deadline = time.time() + 30
    while time.time() < deadline:
        inc = get_incident(base, token, inc["id"])
        done = [a for a in inc["actions"]
                if a["status"] not in ("running", "pending_approval")]
        if len(done) >= 2:
            break
        time.sleep(0.3)
    print("\n==> playbook steps")
    for a in inc["actions"]:
        print("    %s %-24s %-10s %-9s %s" % (
            a["id"], a["playbook"] + "/" + a["step"], a["action"],
            a["status"], (a.get("output") or a["reason"]).strip()))
    if len(inc["actions"]) < 2 or any(a["status"] != "succeeded"
                                      for a in inc["actions"]):
        print("!!  the playbook's steps did not all succeed")
        return False
    print("\n==> the runbook freed the pool: replaying minutes %d..%d, "
          "healthy" % (scenario.MINUTES, scenario.MINUTES + 15))
    send(scenario.samples(from_min=scenario.MINUTES,
                          until_min=scenario.MINUTES + 15,
                          heal_min=scenario.MINUTES))
    deadline = time.time() + 60
    while time.time() < deadline:
        inc = get_incident(base, token, inc["id"])
        if inc["status"] == "resolved":
            break
        time.sleep(0.3)
    verified = [e for e in inc["timeline"]
                if e["text"].startswith("recovery verified")]
    print("    incident %s is %s" % (inc["id"], inc["status"]))
    for e in inc["timeline"]:
        if e["kind"] in ("action", "status", "notification"):
            print("      minute %6.2f  %-12s %s" % (
                (e["ts"] - scenario.START) / 60, e["kind"], e["text"]))
    if inc["status"] != "resolved" or not verified:
        print("!!  recovery was not verified")
        return False
    _, body = call(base, "/api/v1/audit/verify", token)
    audit = json.loads(body)
    print("    audit log: %d records, chain %s" % (
        audit["records"], "intact" if audit["ok"] else "BROKEN"))
    # Vigil's own measure (GET /api/v1/stats), in event time: the
    # scenario's clock, not the replay's.
    _, body = call(base, "/api/v1/stats", token)
    stats = json.loads(body)["overall"]
    fmt = lambda x: "-" if x["mean_s"] is None else "%.0f s" % x["mean_s"]
    print("\n==> MTTD %s, MTTA %s, MTTR %s (Vigil's stats, event time; the "
          "scenario's pool is freed at minute %d)" % (
              fmt(stats["mttd"]), fmt(stats["mtta"]), fmt(stats["mttr"]),
              scenario.MINUTES))
    print("    %s" % inc["summary"])
    return audit["ok"] and stats["mttr"]["count"] >= 1


def notified(sink, inc_id):
    """Waits for the webhook sink to hold the incident's page and its
    resolution; prints what arrived."""
    deadline = time.time() + 20
    events = []
    while time.time() < deadline:
        try:
            with open(sink) as f:
                events = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            events = []
        kinds = {e["event"] for e in events}
        if {"opened", "resolved"} <= kinds:
            break
        time.sleep(0.3)
    print("\n==> notifications at the webhook sink")
    for e in events:
        print("    %-9s %s  %s" % (e["event"], e["dedup_key"], e["text"][:90]))
    mine = [e for e in events if e["dedup_key"] == "vigil-" + inc_id]
    others = sorted({e["dedup_key"] for e in events} - {"vigil-" + inc_id})
    if others:
        # Detectors that adapted to the fault's level can read the return
        # to normal as a new anomaly; say so rather than hide it.
        print("    (also: %s, opened by the return to normal)" %
              ", ".join(others))
    kinds = [e["event"] for e in mine]
    if "opened" not in kinds or "resolved" not in kinds \
            or kinds.index("opened") > kinds.index("resolved"):
        print("!!  the sink did not get the page and then its resolution")
        return False
    return True


def _fmt(x):
    return "?" if x is None else "%.1f" % x


if __name__ == "__main__":
    sys.exit(main())
