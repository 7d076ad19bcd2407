#!/usr/bin/env python3
"""AC@k of Vigil's root-cause ranking over a directory of RCA cases.

Runs `vigil-eval rca --case DIR` for every case under CASES (cases written by
`vigil-sim --out CASES`), compares the ranking with truth.json and prints
AC@1 / AC@3 / AC@5 overall, per fault kind and per graph size, next to the
seeds' simple rule ("nearest anomalous ancestor") on the same incidents.
Two incidents are scored per case, chosen without looking at the answer:
the strongest the engine opened inside the case window (AC@k), and the one
most services first went into inside the window, even if it opened before
(storm AC@k: a fault that joined an incident already open).

  tools/bench.d/rca_eval.py --cases /tmp/sim300 --eval build/bin/vigil-eval \
      [--skip N] [--limit N] [--config FILE] [--out results.jsonl] [--dumps DIR]
      [--rerank [--weights W]] [--jobs N]

--dumps DIR keeps each replay's incidents and topology (DIR/<case>.json);
with --rerank the cases are not replayed: `vigil-eval rank` ranks the
dumped incidents again (seconds for all cases: for trying ranking changes;
grouping and detection are as they were when the dumps were written; the
storm incident is not scored).
"""
import argparse
import collections
import concurrent.futures
import json
import os
import subprocess
import sys
import time


def size_bucket(n):
    if n <= 60:
        return "10-60"
    if n <= 500:
        return "61-500"
    return "501-5000"


def rank_of(ranking, root):
    names = [r["service"] for r in ranking]
    return names.index(root) + 1 if root in names else 0


def services_of(case_dir, cache=None):
    if cache and os.path.exists(cache):
        return int(open(cache).read())
    seen = set()
    with open(os.path.join(case_dir, "metrics.csv")) as f:
        next(f)
        for line in f:
            parts = line.split(",", 2)
            if len(parts) > 1:
                seen.add(parts[1])
    if cache:
        with open(cache, "w") as f:
            f.write(str(len(seen)))
    return len(seen)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--skip", type=int, default=0)
    ap.add_argument("--config")
    ap.add_argument("--out")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--dumps")
    ap.add_argument("--rerank", action="store_true")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--weights")
    a = ap.parse_args()
    if a.rerank and not a.dumps:
        ap.error("--rerank needs --dumps")
    if a.dumps:
        os.makedirs(a.dumps, exist_ok=True)
    cases = sorted(d for d in os.listdir(a.cases)
                   if os.path.isfile(os.path.join(a.cases, d, "truth.json")))
    cases = cases[a.skip:]
    if a.limit:
        cases = cases[: a.limit]
    rows = []
    out = open(a.out, "w") if a.out else None
    t0 = time.time()
    def run_one(name):
        d = os.path.join(a.cases, name)
        truth = json.load(open(os.path.join(d, "truth.json")))
        dump = os.path.join(a.dumps, name + ".json") if a.dumps else None
        if a.rerank:
            cmd = [a.eval, "rank", "--case", d, "--dump", dump]
            if a.weights:
                cmd += ["--weights", a.weights]
        else:
            cmd = [a.eval, "rca", "--case", d]
            if dump:
                cmd += ["--dump", dump]
        if a.config:
            cmd += ["--config", a.config]
        started = time.time()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=a.timeout)
            res = json.loads(p.stdout.strip().splitlines()[-1]) \
                if p.returncode == 0 and p.stdout.strip() else None
        except (subprocess.TimeoutExpired, json.JSONDecodeError, IndexError):
            res = None
        ranking = [r["service"] for r in (res or {}).get("ranking", [])]
        root = truth["root_cause_service"]
        return {
            "case": name,
            "fault": truth["fault"],
            "services": services_of(d, dump and dump + ".services"),
            "incidents": (res or {}).get("incidents", -1),
            "incident": (res or {}).get("incident"),
            "rank": ranking.index(root) + 1 if root in ranking else 0,
            "baseline_hit": (res or {}).get("baseline") == root,
            # The incident where the window's storm went (see vigil-eval).
            "storm_rank": rank_of(((res or {}).get("storm") or {})
                                  .get("ranking", []), root),
            "confidence": (res or {}).get("confidence", ""),
            "seconds": round(time.time() - started, 2),
        }

    with concurrent.futures.ThreadPoolExecutor(max(a.jobs, 1)) as pool:
        for row in pool.map(run_one, cases):
            rows.append(row)
            if out:
                out.write(json.dumps(row) + "\n")
                out.flush()
            print(f"{row['case']} {row['fault']:16s} "
                  f"n={row['services']:5d} "
                  f"incidents={row['incidents']} rank={row['rank']} "
                  f"baseline={'hit' if row['baseline_hit'] else 'miss'} "
                  f"{row['seconds']}s", file=sys.stderr)

    def report(label, xs):
        n = len(xs)
        if n == 0:
            return
        ac = lambda k: sum(1 for r in xs if 0 < r["rank"] <= k) / n
        base = sum(1 for r in xs if r["baseline_hit"]) / n
        one = sum(1 for r in xs if r["incidents"] == 1) / n
        sac = lambda k: sum(1 for r in xs
                            if 0 < r.get("storm_rank", 0) <= k) / n
        print(f"{label:22s} n={n:4d}  AC@1={ac(1):.3f}  AC@3={ac(3):.3f}  "
              f"AC@5={ac(5):.3f}  baseline AC@1={base:.3f}  "
              f"exactly-one-incident={one:.3f}  "
              f"storm AC@1={sac(1):.3f} AC@3={sac(3):.3f}")

    print(f"# {len(rows)} cases in {time.time() - t0:.0f} s")
    report("all", rows)
    by_fault = collections.defaultdict(list)
    by_size = collections.defaultdict(list)
    for r in rows:
        by_fault[r["fault"]].append(r)
        by_size[size_bucket(r["services"])].append(r)
    for k in sorted(by_fault):
        report("fault " + k, by_fault[k])
    for k in sorted(by_size):
        report("services " + k, by_size[k])
    # How often each confidence level was right (top candidate = truth).
    by_conf = collections.defaultdict(list)
    for r in rows:
        by_conf[r["confidence"] or "none"].append(r["rank"] == 1)
    print("top candidate right, by confidence: " + ", ".join(
        f"{k} {sum(v)}/{len(v)}" for k, v in sorted(by_conf.items())))



if __name__ == "__main__":
    main()
