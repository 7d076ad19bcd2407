#!/usr/bin/python3
"""Generates a mixed-format application log whose templates are known.

Writes OUT.log (one line per event) and OUT.labels (the true template id of
each line, one per line). Deterministic for a given --seed.

  log_generate.py --out tests/fixtures/logs/generated_mixed --lines 4000
"""
import argparse
import datetime as dt
import json
import random
import uuid

USERS = ["alice", "bob", "carol", "dave", "erin", "mallory", "trent"]
SERVICES = ["checkout", "billing", "inventory", "search"]
JOBS = ["nightly-report", "compact-db", "rotate-keys", "sync-catalog"]
TABLES = ["orders", "users", "items", "payments"]
METHODS = ["GET", "POST", "PUT", "DELETE"]
PATHS = ["/api/v1/orders", "/api/v1/items", "/healthz", "/static/app.js",
         "/api/v1/users"]


def ip(r):
    return "10.%d.%d.%d" % (r.randint(0, 255), r.randint(0, 255),
                            r.randint(1, 254))


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def log4j(t, level, logger, msg):
    return "%s,%03d %s [%s] %s - %s" % (
        t.strftime("%Y-%m-%d %H:%M:%S"), t.microsecond // 1000, level,
        "worker-%d" % random.randint(1, 8), logger, msg)


def templates(r):
    """(template id, weight, function(time) -> line)."""
    return [
        ("j_started", 1, lambda t: log4j(t, "INFO", "com.shop.App",
            "Started %s in %.3f seconds (JVM running for %.3f)" % (
                r.choice(SERVICES), r.uniform(1, 9), r.uniform(9, 20)))),
        ("j_conn_open", 8, lambda t: log4j(t, "INFO", "com.shop.net.Pool",
            "Connection to %s:%d established in %dms" % (
                ip(r), r.randint(1024, 65535), r.randint(1, 900)))),
        ("j_conn_close", 6, lambda t: log4j(t, "INFO", "com.shop.net.Pool",
            "Connection to %s:%d closed by peer" % (
                ip(r), r.randint(1024, 65535)))),
        ("j_order_fail", 3, lambda t: log4j(t, "ERROR", "com.shop.Orders",
            "Failed to process order %s: timeout after %dms" % (
                uuid.UUID(int=r.getrandbits(128)), r.randint(100, 30000)))),
        ("j_retry", 4, lambda t: log4j(t, "WARN", "com.shop.http.Client",
            "Retrying request %d/%d to https://%s.internal:8443/v2/%s" % (
                r.randint(1, 5), 5, r.choice(SERVICES), r.choice(TABLES)))),
        ("j_login", 6, lambda t: log4j(t, "INFO", "com.shop.Auth",
            "User %s logged in from %s" % (r.choice(USERS), ip(r)))),
        ("j_logout", 4, lambda t: log4j(t, "INFO", "com.shop.Auth",
            "User %s logged out after %d minutes" % (
                r.choice(USERS), r.randint(1, 300)))),
        ("p_db_fail", 2, lambda t: "ERROR:root:Database query failed after "
            "%d retries" % r.randint(1, 9)),
        ("p_batch", 7, lambda t: "INFO:worker:Processed batch %d with %d "
            "items in %.2fs" % (r.randint(1, 99999), r.randint(1, 500),
                                r.uniform(0.01, 9))),
        ("p_cache", 3, lambda t: "WARNING:cache:Cache miss ratio %.2f above "
            "threshold %.2f" % (r.uniform(0.3, 0.9), 0.25)),
        ("p_job", 3, lambda t: "%s,%03d - scheduler - INFO - Job %s "
            "scheduled at %s" % (t.strftime("%Y-%m-%d %H:%M:%S"),
                                 t.microsecond // 1000, r.choice(JOBS),
                                 iso(t + dt.timedelta(minutes=5)))),
        ("js_request", 10, lambda t: json.dumps({
            "ts": iso(t), "level": "info", "msg": "request completed",
            "method": r.choice(METHODS),
            "path": "/api/v1/items/%d" % r.randint(1, 10**6),
            "status": r.choice([200, 200, 201, 204]),
            "duration_ms": r.randint(1, 400)})),
        ("js_declined", 2, lambda t: json.dumps({
            "ts": iso(t), "level": "error", "msg": "payment declined",
            "order_id": "ord_%08x" % r.getrandbits(32),
            "reason": r.choice(["insufficient funds", "card expired",
                                "do not honor"])})),
        ("js_slow", 3, lambda t: json.dumps({
            "time": t.timestamp(), "level": "warn", "msg": "slow query",
            "table": r.choice(TABLES),
            "elapsed": "%.1fs" % r.uniform(1, 9)})),
        ("lf_cache", 5, lambda t: 'ts=%s level=info msg="cache refreshed" '
            'entries=%d took=%dms' % (iso(t), r.randint(1, 99999),
                                      r.randint(1, 999))),
        ("lf_upstream", 2, lambda t: 'ts=%s level=error msg="upstream '
            'unavailable" upstream=http://%s:8080 err="dial tcp %s:8080: '
            'connect: connection refused"' % (iso(t), ip(r), ip(r))),
        ("sl_accept", 4, lambda t: "<38>%s host1 sshd[%d]: Accepted publickey "
            "for %s from %s port %d ssh2" % (
                t.strftime("%b %e %H:%M:%S"), r.randint(100, 60000),
                r.choice(USERS), ip(r), r.randint(1024, 65535))),
        ("sl_fail", 3, lambda t: "<37>1 %s host1 sshd %d - - Failed password "
            "for invalid user %s from %s port %d ssh2" % (
                iso(t), r.randint(100, 60000),
                r.choice(["admin", "test", "oracle", "guest"]), ip(r),
                r.randint(1024, 65535))),
        ("sl_session", 4, lambda t: "%s host1 systemd-logind[%d]: New session "
            "%d of user %s." % (t.strftime("%b %e %H:%M:%S"),
                                r.randint(100, 999), r.randint(1, 9999),
                                r.choice(USERS))),
        ("ac_request", 12, lambda t: '%s - %s [%s] "%s %s?id=%d HTTP/1.1" %d '
            '%d "-" "curl/7.88.1"' % (
                ip(r), r.choice(["-", "frank"]),
                t.strftime("%d/%b/%Y:%H:%M:%S +0000"), "GET",
                r.choice(PATHS), r.randint(1, 999),
                r.choice([200, 200, 304, 404, 500]), r.randint(0, 99999))),
        ("ac_post", 4, lambda t: '%s - - [%s] "POST %s HTTP/2.0" %d %d' % (
                ip(r), t.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                r.choice(PATHS), r.choice([201, 400, 502]),
                r.randint(0, 5000))),
        ("tx_block", 5, lambda t: "%s INFO Receiving block blk_%d src: /%s:%d "
            "dest: /%s:50010" % (t.strftime("%Y-%m-%d %H:%M:%S"),
                                 r.randint(-2**62, 2**62), ip(r),
                                 r.randint(1024, 65535), ip(r))),
        ("tx_kernel", 2, lambda t: "[%12.6f] eth%d: Link is Up - %dMbps/Full "
            "- flow control rx/tx" % (r.uniform(1, 99999), r.randint(0, 3),
                                      r.choice([100, 1000, 10000]))),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--lines", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    r = random.Random(a.seed)
    random.seed(a.seed)
    ts = templates(r)
    weights = [w for _, w, _ in ts]
    t = dt.datetime(2024, 3, 1, 8, 0, 0, tzinfo=dt.timezone.utc)
    with open(a.out + ".log", "w") as log, open(a.out + ".labels", "w") as lab:
        for _ in range(a.lines):
            t += dt.timedelta(milliseconds=r.randint(1, 2000))
            tid, _, fn = r.choices(ts, weights=weights)[0]
            log.write(fn(t) + "\n")
            lab.write(tid + "\n")


if __name__ == "__main__":
    main()
