#!/usr/bin/python3
"""Grouping accuracy of `vigil-eval logs` on the labelled corpora.

For every tests/fixtures/logs/<name>.log the true template of each line comes
from <name>.labels (one id per line, written by a generator) or from
<name>.rules (hand-written `id<TAB>regex` lines, first full match wins; a
line `@unmatched singleton` makes every unmatched line its own template,
otherwise an unmatched line is an error; a line `@logfmt callsite` labels a
logfmt line by the statement that printed it: its `caller`, its `msg` and
its set of keys). Accuracy is Loghub's grouping
accuracy: a line is correct when the set of lines of its mined template
equals the set of lines of its true template.

  log_accuracy.py --eval build-logs/bin/vigil-eval [--fixtures DIR] [-v]
"""
import argparse
import collections
import csv
import glob
import io
import os
import re
import subprocess
import sys


LOGFMT_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_.\-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def logfmt_callsite(line):
    pairs = LOGFMT_PAIR.findall(line)
    if not pairs:
        return None
    d = dict(pairs)
    keys = sorted(k for k, _ in pairs)
    return "%s|%s|%s" % (d.get("caller", ""), d.get("msg", ""),
                         ",".join(keys))


def truth_of(path, lines):
    base = path[:-len(".log")]
    if os.path.exists(base + ".labels"):
        with open(base + ".labels") as f:
            labels = [x.rstrip("\n") for x in f]
        if len(labels) != len(lines):
            sys.exit("%s: %d labels for %d lines" % (base, len(labels),
                                                     len(lines)))
        return labels
    rules = []
    singleton = False
    callsite = False
    with open(base + ".rules") as f:
        for raw in f:
            raw = raw.rstrip("\n")
            if not raw or raw.startswith("#"):
                continue
            if raw == "@unmatched singleton":
                singleton = True
                continue
            if raw == "@logfmt callsite":
                callsite = True
                continue
            tid, rx = raw.split("\t", 1)
            rules.append((tid, re.compile(rx)))
    labels = []
    for n, line in enumerate(lines, 1):
        if callsite:
            tid = logfmt_callsite(line)
            if tid is not None:
                labels.append(tid)
                continue
        for tid, rx in rules:
            if rx.fullmatch(line):
                labels.append(tid)
                break
        else:
            if not singleton:
                sys.exit("%s.rules: no rule for line %d: %s" % (base, n, line))
            labels.append("@line%d" % n)
    return labels


def mine(tool, path):
    out = subprocess.run([tool, "logs", "--input", path], check=True,
                         capture_output=True).stdout.decode("utf-8",
                                                            "replace")
    rows = list(csv.DictReader(io.StringIO(out)))
    return [r["template_id"] for r in rows], {r["template_id"]: r["template"]
                                              for r in rows}


def grouping_accuracy(truth, mined):
    by_truth = collections.defaultdict(set)
    by_mined = collections.defaultdict(set)
    for i, (t, m) in enumerate(zip(truth, mined)):
        by_truth[t].add(i)
        by_mined[m].add(i)
    correct = 0
    bad = []
    for m, members in by_mined.items():
        t = truth[next(iter(members))]
        if by_truth[t] == members:
            correct += len(members)
        else:
            bad.append((m, t, len(members), len(by_truth[t])))
    return correct / max(1, len(truth)), bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", required=True, help="path to vigil-eval")
    ap.add_argument("--fixtures", default=os.path.join(
        os.path.dirname(__file__), "..", "..", "tests", "fixtures", "logs"))
    ap.add_argument("-v", action="store_true", help="list wrong groups")
    a = ap.parse_args()
    worst = 1.0
    print("%-22s %7s %7s %7s %9s" % ("corpus", "lines", "true", "mined",
                                     "accuracy"))
    for path in sorted(glob.glob(os.path.join(a.fixtures, "*.log"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [x.rstrip("\n").rstrip("\r") for x in f]
        truth = truth_of(path, lines)
        mined, texts = mine(a.eval, path)
        acc, bad = grouping_accuracy(truth, mined)
        worst = min(worst, acc)
        print("%-22s %7d %7d %7d %9.4f" % (os.path.basename(path)[:-4],
                                           len(lines), len(set(truth)),
                                           len(set(mined)), acc))
        if a.v:
            for m, t, nm, nt in sorted(bad, key=lambda x: -x[2])[:15]:
                print("    mined %s (%d lines) vs true %s (%d lines): %s" % (
                    m, nm, t, nt, texts[m][:100]))
    return 0 if worst >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
