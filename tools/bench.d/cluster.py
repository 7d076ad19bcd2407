#!/usr/bin/env python3
"""Cluster benchmarks with real vigild processes on loopback (bounded in
count and time; nothing leaves 127.0.0.1).

  cluster.py failover --bin build/bin [--rounds 20] [--rate 20000]
      Per round: three nodes join; vigil-load streams samples at RATE/s
      through a follower while an incident is opened and acted on (a shell
      playbook step that creates one marker file per run); the control node
      is killed with SIGKILL mid-load. Measures the time until a survivor
      reports it down and until every shard is owned by a live node, and
      counts incidents lost, steps run twice and notifications (the page and
      the step's notice, at a local webhook receiver) that never arrived.
      Exits 1 on any loss or duplicate step.

  cluster.py cost --bin build/bin [--samples 3000000] [--rate 50000]
      CPU seconds per ingested sample of one node and of three nodes (load
      spread over the three HTTP ports), read from /proc, with the batch
      size of the samples the nodes forwarded to each other.
"""

import argparse
import http.server
import json
import os
import threading
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN = "bench-cluster-token-5c1a9e7d3b"


def call(port, path, body=None, ctype="application/json"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=body, method="POST" if body else "GET")
    req.add_header("Authorization", "Bearer " + TOKEN)
    if body:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


class Sink(http.server.ThreadingHTTPServer):
    """A webhook receiver on loopback that keeps every notification."""

    def __init__(self):
        self.events = []
        self.lock = threading.Lock()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with sink.lock:
                    sink.events.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def kinds(self, dedup_key):
        with self.lock:
            return [e["event"] for e in self.events
                    if e.get("dedup_key") == dedup_key]


class Node:
    def __init__(self, bindir, data, node_id, join=None, playbooks=None,
                 config=None):
        os.makedirs(data, exist_ok=True)
        with open(os.path.join(data, "admin.token"), "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(os.path.join(data, "admin.token"), 0o600)
        argv = [os.path.join(bindir, "vigild"), "--http", "127.0.0.1:0",
                "--cluster", "127.0.0.1:0", "--data-dir", data,
                "--node-id", node_id, "--log-level", "warn"]
        if join:
            argv += ["--join", join]
        if playbooks:
            argv += ["--playbooks", playbooks]
        if config:
            argv += ["--config", config]
        self.id = node_id
        self.err = open(data + ".stderr", "w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("vigild %s exited; see %s.stderr" %
                                   (node_id, data))
            if line.startswith("vigild ready"):
                f = dict(kv.split("=", 1) for kv in line.split()[2:])
                self.http = int(f["http"].rsplit(":", 1)[1])
                self.cluster = f["cluster"]
                return
        raise RuntimeError("vigild %s not ready in 60 s" % node_id)

    def view(self):
        return call(self.http, "/api/v1/cluster")

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def metric(port, name):
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port)
    with urllib.request.urlopen(req, timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
    return 0.0


def start_cluster(bindir, root, playbooks=None, config=None):
    nodes = [Node(bindir, os.path.join(root, "n0"), "n0",
                  playbooks=playbooks, config=config)]
    for i in (1, 2):
        nodes.append(Node(bindir, os.path.join(root, "n%d" % i), "n%d" % i,
                          join=nodes[0].cluster, playbooks=playbooks,
                          config=config))
    wait(lambda: all(sum(n["state"] == "up" for n in x.view()["nodes"]) == 3
                     for x in nodes), 15, "three nodes up")
    return nodes


def wait(cond, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if cond():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


# The pool fault: fe -> checkout -> orders -> orders-db, orders-db's pool
# exhausted from step 150 on, each caller one step later.
CHAIN = ["orders-db", "orders", "checkout", "fe"]


def fault_samples(t0, frm, to, fault_at):
    import random
    rnd = random.Random(frm)
    out = []
    for i in range(frm, to):
        for h, s in enumerate(CHAIN):
            hit = i >= fault_at + h
            for pod in range(5):
                for m in (("db_pool_in_use", "db_pool_wait_ms") if h == 0
                          else ("latency_ms", "error_ratio")):
                    base = 1.0 if m == "error_ratio" else 100.0
                    v = base * (6 if h == 0 else 4) if hit else \
                        base + base * 0.03 * rnd.gauss(0, 1)
                    out.append(json.dumps({"service": s, "metric": m,
                                           "value": v, "ts": t0 + i * 10,
                                           "labels": {"pod": "%s-%d" % (s, pod)}}))
    return ("\n".join(out) + "\n").encode()


def incident(port):
    for brief in call(port, "/api/v1/incidents?status=all&limit=10")["incidents"]:
        if "merged_into" in brief:
            continue
        inc = call(port, "/api/v1/incidents/" + brief["id"])
        if inc["type"] == "database_connection_exhaustion":
            return inc
    return None


def failover(args):
    rounds = []
    failures = 0
    sink = Sink()
    for r in range(args.rounds):
        with sink.lock:
            sink.events.clear()
        root = tempfile.mkdtemp(prefix="vigil-failover-")
        books = os.path.join(root, "playbooks")
        markers = os.path.join(root, "markers")
        os.makedirs(books)
        os.makedirs(markers)
        with open(os.path.join(books, "release.yaml"), "w") as f:
            f.write("name: release\nmatch:\n  incident_type: "
                    "database_connection_exhaustion\n  services: [\"*-db\"]\n"
                    "autonomy: 3\nsteps:\n  - name: kill-idle\n    action: shell\n"
                    "    with:\n      argv: [\"/usr/bin/mktemp\", \"%s/run-XXXXXX\"]\n"
                    "      timeout: 10s\nverify:\n  within: 2m\n"
                    "on_failure: escalate\n" % markers)
        config = os.path.join(root, "vigil.yaml")
        with open(config, "w") as f:
            f.write("notifiers:\n  receivers: [\"sink webhook "
                    "http://127.0.0.1:%d/hook\"]\n" % sink.server_address[1])
        nodes = start_cluster(args.bin, root, books, config)
        load = None
        try:
            follower = nodes[2]
            call(follower.http, "/api/v1/topology", json.dumps(
                {"edges": [{"caller": CHAIN[i], "callee": CHAIN[i - 1]}
                           for i in range(1, len(CHAIN))]}).encode())
            load = subprocess.Popen(
                [os.path.join(args.bin, "vigil-load"), "--target",
                 "http://127.0.0.1:%d" % nodes[1].http, "--series", "20000",
                 "--services", "200", "--rate", str(args.rate), "--duration",
                 "60", "--batch", "2000"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t0 = int(time.time()) - 200 * 10
            for frm in range(0, 170, 20):
                call(follower.http, "/api/v1/samples",
                     fault_samples(t0, frm, min(frm + 20, 170), 150),
                     "application/x-ndjson")
            try:
                wait(lambda: (incident(nodes[1].http) or {}).get("actions")
                     and incident(nodes[1].http)["actions"][0]["status"]
                     == "succeeded", 30, "the step to run")
            except RuntimeError:
                # Say why, from the control node's own records.
                inc = incident(nodes[1].http) or {}
                audit = call(nodes[0].http, "/api/v1/audit?limit=50")["records"]
                print(json.dumps({"round": r + 1, "error": "the step did not run",
                                  "type": inc.get("type"),
                                  "root_cause": (inc.get("root_cause") or {}).get("service"),
                                  "confidence": (inc.get("root_cause") or {}).get("confidence_level"),
                                  "actions": inc.get("actions"),
                                  "audit": [(x["kind"], x.get("detail", "")[:80])
                                            for x in audit]}), flush=True)
                failures += 1
                continue
            before = incident(nodes[1].http)
            wait(lambda: any(x["kind"] == "action_finished" for x in
                             call(nodes[1].http, "/api/v1/audit?limit=1000")["records"]),
                 10, "the audit record to reach a follower")
            control = before and call(nodes[1].http, "/api/v1/cluster")["control_node"]
            victim = next(n for n in nodes if n.id == control)
            survivors = [n for n in nodes if n is not victim]
            killed = time.time()
            victim.kill()
            wait(lambda: any(n["id"] == victim.id and n["state"] == "down"
                             for n in survivors[0].view()["nodes"]), 15, "down")
            detected = time.time() - killed
            live = {n.id for n in survivors}
            wait(lambda: all(s["owner"] in live for x in survivors
                             for s in x.view()["shards"]), 15, "ownership")
            owned = time.time() - killed
            for frm in range(170, 190, 20):
                call(follower.http, "/api/v1/samples",
                     fault_samples(t0, frm, frm + 20, 150), "application/x-ndjson")
            after = None

            def same_incident():
                nonlocal after
                after = incident(survivors[0].http)
                return after is not None and after["id"] == before["id"]
            try:
                wait(same_incident, 20, "the incident on the new control node")
                lost = 0
            except RuntimeError:
                lost = 1
            runs = len(os.listdir(markers))
            # Notifications: the page and the step's notice reach the
            # receiver, from whichever control node held them.
            key = "vigil-" + before["id"]
            try:
                wait(lambda: {"opened", "action"} <= set(sink.kinds(key)), 20,
                     "the notifications")
                missing = 0
            except RuntimeError:
                missing = len({"opened", "action"} - set(sink.kinds(key)))
            kinds = sink.kinds(key)
            row = {"round": r + 1, "detected_s": round(detected, 3),
                   "owned_s": round(owned, 3), "incidents_lost": lost,
                   "step_runs": runs, "notifications_missing": missing,
                   "notifications": len(kinds),
                   "opened_delivered": kinds.count("opened")}
            rounds.append(row)
            print(json.dumps(row), flush=True)
            if lost or runs != 1 or missing:
                failures += 1
        finally:
            if load:
                load.kill()
                load.wait()
            for n in nodes:
                n.stop()
            shutil.rmtree(root, ignore_errors=True)
    det = sorted(x["detected_s"] for x in rounds)
    own = sorted(x["owned_s"] for x in rounds)
    print(json.dumps({"rounds": len(rounds), "detected_max_s": det[-1],
                      "detected_median_s": det[len(det) // 2],
                      "owned_max_s": own[-1],
                      "incidents_lost": sum(x["incidents_lost"] for x in rounds),
                      "duplicate_runs": sum(max(0, x["step_runs"] - 1)
                                            for x in rounds),
                      "notifications_missing": sum(x["notifications_missing"]
                                                   for x in rounds),
                      "pages_delivered_twice": sum(
                          1 for x in rounds if x["opened_delivered"] > 1),
                      "rounds_failed": failures}))
    return 1 if failures else 0


def run_load(bindir, ports, samples, rate):
    per = samples // len(ports)
    procs = [subprocess.Popen(
        [os.path.join(bindir, "vigil-load"), "--target",
         "http://127.0.0.1:%d" % p, "--series", "30000", "--services", "300",
         "--rate", str(rate // len(ports)), "--duration",
         str(max(1, per * len(ports) // rate)), "--batch", "2000"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for p in ports]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    return outs


def ingested(port):
    total = 0.0
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port)
    with urllib.request.urlopen(req, timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("vigil_ingest_samples_total{"):
                total += float(line.split()[-1])
    return total


def cost(args):
    results = {}
    for shape in ("one", "three"):
        root = tempfile.mkdtemp(prefix="vigil-cost-")
        nodes = [Node(args.bin, os.path.join(root, "n0"), "n0")] \
            if shape == "one" else start_cluster(args.bin, root)
        try:
            cpu0 = sum(n.cpu_seconds() for n in nodes)
            outs = run_load(args.bin, [n.http for n in nodes], args.samples,
                            args.rate)
            # Let the detectors drain what was admitted.
            time.sleep(2)
            cpu = sum(n.cpu_seconds() for n in nodes) - cpu0
            samples = sum(ingested(n.http) for n in nodes)
            items = sum(metric(n.http, 'vigil_cluster_forwarded_total{what="items"}')
                        for n in nodes)
            msgs = sum(metric(n.http, 'vigil_cluster_forwarded_total{what="messages"}')
                       for n in nodes)
            results[shape] = {"nodes": len(nodes), "samples": samples,
                              "cpu_s": round(cpu, 2),
                              "cpu_us_per_sample": round(cpu / samples * 1e6, 3)
                              if samples else None,
                              "forwarded_samples": items,
                              "forward_messages": msgs,
                              "samples_per_forward": round(items / msgs, 1)
                              if msgs else None}
            print(json.dumps({shape: results[shape]}), flush=True)
            for o in outs:
                print("  vigil-load: " + o.strip().splitlines()[-1])
        finally:
            for n in nodes:
                n.stop()
            shutil.rmtree(root, ignore_errors=True)
    if results["one"]["cpu_us_per_sample"] and results["three"]["cpu_us_per_sample"]:
        ratio = results["three"]["cpu_us_per_sample"] / results["one"]["cpu_us_per_sample"]
        print(json.dumps({"three_over_one": round(ratio, 3)}))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("failover")
    f.add_argument("--bin", default="build/bin")
    f.add_argument("--rounds", type=int, default=20)
    f.add_argument("--rate", type=int, default=20000)
    c = sub.add_parser("cost")
    c.add_argument("--bin", default="build/bin")
    c.add_argument("--samples", type=int, default=3_000_000)
    c.add_argument("--rate", type=int, default=50_000)
    args = ap.parse_args()
    return failover(args) if args.cmd == "failover" else cost(args)


if __name__ == "__main__":
    sys.exit(main())
