#!/usr/bin/env python3
"""`vigil-eval rank` ranks a dumped incident exactly as the node did.

Generates small RCA cases with vigil-sim, replays each with
`vigil-eval rca --dump`, ranks the dump again with `vigil-eval rank`, and
fails unless both name the same incident with the same candidates in the
same order (scores equal to 1e-9). Also checks that a file that is not a
dump is refused with exit 1 and a message naming it.

  tools/bench.d/rank_replay_check.py --sim build/bin/vigil-sim \
      --eval build/bin/vigil-eval [--cases 3]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def run_json(failures, name, cmd):
    """The last stdout line of `cmd` as JSON, or None (noted in failures)."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        failures.append(f"{name}: {cmd[1]} exited {p.returncode}: "
                        f"{p.stderr[-500:]}")
        return None
    return last_json(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--cases", type=int, default=3)
    a = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = os.path.join(tmp, "cases")
        subprocess.run([a.sim, "--out", cases, "--cases", str(a.cases),
                        "--seed", "7", "--services", "25", "--quiet"],
                       check=True, timeout=300)
        ranked = 0
        for name in sorted(os.listdir(cases)):
            d = os.path.join(cases, name)
            dump = os.path.join(tmp, name + ".json")
            live = run_json(failures, name, [a.eval, "rca", "--case", d,
                                             "--dump", dump])
            again = live and run_json(failures, name,
                                      [a.eval, "rank", "--case", d,
                                       "--dump", dump])
            if not again:
                continue
            if live.get("incident") != again.get("incident"):
                failures.append(f"{name}: incident {live.get('incident')} "
                                f"vs {again.get('incident')}")
                continue
            a_names = [(r["service"], r["score"]) for r in live["ranking"]]
            b_names = [(r["service"], r["score"]) for r in again["ranking"]]
            same = len(a_names) == len(b_names) and all(
                x[0] == y[0] and abs(x[1] - y[1]) < 1e-9
                for x, y in zip(a_names, b_names))
            if not same:
                failures.append(f"{name}: node ranked {a_names}, "
                                f"rank ranked {b_names}")
            if a_names:
                ranked += 1
        if ranked == 0:
            failures.append("no case produced a ranked incident to compare")
        bad = os.path.join(tmp, "not-a-dump.json")
        with open(bad, "w") as f:
            f.write("[1, 2]\n")
        r = subprocess.run([a.eval, "rank", "--case",
                            os.path.join(cases, sorted(os.listdir(cases))[0]),
                            "--dump", bad],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 1 or "not-a-dump.json" not in r.stderr:
            failures.append(f"a non-dump: exit {r.returncode}, "
                            f"stderr {r.stderr!r}")
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    if not failures:
        print(f"ok: {ranked} cases ranked alike by the node and by rank")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
