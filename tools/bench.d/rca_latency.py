#!/usr/bin/env python3
"""How soon, in event time, a node names the true root cause: each case is
streamed at SPEED event seconds per wall second (vigil-sim --case --to)
into a fresh vigild on loopback, then the incident holding the root cause
is read back and the first root-cause entry of its timeline that names the
truth (the earliest, when several incidents hold the root) is compared
with the fault's injection time (truth.json inject_ts),
with the root's first anomaly: the onset (event time) of the earliest
anomaly of the root service in that incident from 30 s before the
injection on; and with the root's first anomaly *reported*: the event
time of the detector's first anomaly event for the root (its first
anomaly entry on the incident's timeline), i.e. once the detectors have
confirmed it (detection.confirm_samples) — what correlation and ranking
add on top of detection.

The node ranks on a wall-clock tick (correlation.rank_interval, 500 ms),
so at SPEED x the measure has a granularity of about SPEED/2 event seconds;
the anomaly confirmation (detection.confirm_samples samples) and the
propagation to a first caller come on top. Bounded: each case streams for
its own length / SPEED wall seconds, then at most 60 s of waiting.

  rca_latency.py --cases DIR CASE [CASE ...] [--speed 20] [--config F]
                 [--vigild build/bin/vigild] [--sim build/bin/vigil-sim]

--config passes a vigild configuration (e.g. a shorter
correlation.rank_interval for a finer measure at high SPEED).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request


def get(url, path, token):
    req = urllib.request.Request(url + path)
    req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def one(case_dir, speed, vigild, sim, config=None):
    truth = json.load(open(os.path.join(case_dir, "truth.json")))
    root, inject = truth["root_cause_service"], truth["inject_ts"]
    work = tempfile.mkdtemp(prefix="vigil-lat-")
    out = open(work + "/out", "w")
    node = subprocess.Popen(
        [vigild, "--data-dir", work + "/data", "--http", "127.0.0.1:0",
         "--cluster", "127.0.0.1:0", "--playbooks", work, "--log-level",
         "warn"] + (["--config", config] if config else []),
        stdout=out, stderr=subprocess.DEVNULL)
    try:
        url = None
        deadline = time.time() + 30
        while url is None and time.time() < deadline:
            for line in open(work + "/out"):
                if line.startswith("vigild ready") and "http=" in line:
                    url = "http://" + line.split("http=")[1].split()[0]
            time.sleep(0.1)
        if url is None:
            return None
        token_file = work + "/data/admin.token"
        token = open(token_file).read().strip()
        subprocess.run([sim, "--case", case_dir, "--to", url, "--speed",
                        str(speed), "--token-file", token_file],
                       check=True, capture_output=True)
        found = None
        deadline = time.time() + 60
        while found is None and time.time() < deadline:
            listed = get(url, "/api/v1/incidents?status=all&limit=1000", token)
            for brief in listed["incidents"]:
                if root not in brief.get("services", []):
                    continue
                inc = get(url, "/api/v1/incidents/" + brief["id"], token)
                named = [e["ts"] for e in inc["timeline"]
                         if e["kind"] == "root_cause"
                         and e.get("service") == root]
                # The fault's first anomaly at the root: a blip long
                # before the injection is not it.
                onsets = [a["ts"] for a in inc["anomalies"]
                          if a["service"] == root and a["ts"] >= inject - 30]
                reported = [e["ts"] for e in inc["timeline"]
                            if e.get("service") == root
                            and e["kind"] in ("metric_anomaly", "log_event",
                                              "alert")
                            and e["ts"] >= inject - 30]
                # Several incidents may hold the root (one opened by noise
                # before the fault, say): the earliest that names it counts.
                if named and onsets and reported and (
                        found is None or min(named) - inject < found[0]):
                    found = (min(named) - inject, min(named) - min(onsets),
                             min(named) - min(reported))
            if found is None:
                time.sleep(1)
        return found
    finally:
        node.terminate()
        node.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", required=True)
    ap.add_argument("names", nargs="+")
    ap.add_argument("--speed", type=float, default=20)
    ap.add_argument("--vigild", default="build/bin/vigild")
    ap.add_argument("--sim", default="build/bin/vigil-sim")
    ap.add_argument("--config")
    a = ap.parse_args()
    got = []
    for name in a.names:
        lat = one(os.path.join(a.cases, name), a.speed, a.vigild, a.sim,
                  a.config)
        print("%s: %s" % (name, "root never on top" if lat is None
                          else "root on top %.1f s after injection, "
                          "%.1f s after its first anomaly, %.1f s after "
                          "its first anomaly was reported" % lat),
              flush=True)
        if lat is not None:
            got.append(lat)
    if got:
        for k, what in ((0, "injection"), (1, "first anomaly"),
                        (2, "first anomaly reported")):
            xs = sorted(x[k] for x in got)
            print("%d of %d cases, after %s: median %.1f s, max %.1f s "
                  "(speed %g)" % (len(xs), len(a.names), what,
                                  xs[len(xs) // 2], xs[-1], a.speed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
