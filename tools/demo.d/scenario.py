"""The bundled outage scenario: deterministic telemetry of a small shop.

Four services -- frontend -> checkout -> {orders-db, payments} -- report
every 15 s for two hours. At FAULT_MIN minutes the connection pool of
orders-db is exhausted (a deploy went out 10 minutes earlier): its
connections climb to the pool's limit and queries slow down, checkout's
latency and errors follow a minute later, frontend's a minute after that.
payments is never affected. Noise is bounded, so nothing before the fault
is a genuine outlier.
"""

import math
import random

START = 1_795_000_000  # Unix seconds; any fixed origin works
STEP = 15  # seconds between samples
MINUTES = 130
FAULT_MIN = 100
DEPLOY_MIN = 90
ROOT_CAUSE = "orders-db"


def _wave(t, period_s, amplitude):
    return amplitude * math.sin(2 * math.pi * (t - START) / period_s)


def samples(seed=7, from_min=0, until_min=MINUTES, heal_min=None):
    """Yields (ts, service, metric, value, labels) in time order, for
    minutes [from_min, until_min). From heal_min on (when given) the pool
    is healthy again: what a successful runbook leaves behind. The values
    before from_min are generated and skipped, so a continuation carries on
    exactly where an earlier call stopped (counters included)."""
    rnd = random.Random(seed)
    fault = START + FAULT_MIN * 60
    heal = None if heal_min is None else START + heal_min * 60
    errors = {"checkout": 0.0, "frontend": 0.0}
    for i in range(until_min * 60 // STEP):
        t = START + i * STEP
        since = t - fault  # seconds into the fault (negative before)
        if heal is not None and t >= heal:
            since = -1  # healthy again
        emit = t >= START + from_min * 60
        if not emit:
            # Draw the same random numbers as an emitting pass would.
            for _ in _step(t, since, rnd, errors):
                pass
            continue
        yield from _step(t, since, rnd, errors)


def _step(t, since, rnd, errors):
    """One sample time of every series."""
    u = lambda width: rnd.uniform(-width, width)

    # orders-db: the pool fills up within 3 minutes and stays full.
    if since < 0:
        conns = 35 + _wave(t, 86400, 5) + u(3)
        qlat = 4 + u(1)
    else:
        conns = min(100.0, 35 + since / 180 * 65) + u(0.5)
        qlat = 250 + u(50)
    yield t, "orders-db", "db_connections_in_use", conns, {"pool": "main"}
    yield t, "orders-db", "query_latency_ms", qlat, {}

    # checkout waits on the database a minute later.
    lat = 120 + _wave(t, 86400, 10) + u(10)
    err_rate = 0.1 + u(0.05)
    if since >= 60:
        lat = 900 + u(100)
        err_rate = 20 + u(2)
    errors["checkout"] += err_rate * STEP
    yield t, "checkout", "latency_ms", lat, {"route": "/api/checkout"}
    yield t, "checkout", "http_errors_total", errors["checkout"], {"code": "500"}

    # frontend feels it a minute after checkout.
    lat = 80 + _wave(t, 86400, 6) + u(8)
    err_rate = 0.05 + u(0.03)
    if since >= 120:
        lat = 400 + u(50)
        err_rate = 8 + u(1)
    errors["frontend"] += err_rate * STEP
    yield t, "frontend", "latency_ms", lat, {"route": "/"}
    yield t, "frontend", "http_errors_total", errors["frontend"], {"code": "502"}

    # payments is healthy throughout: the control group.
    yield t, "payments", "latency_ms", 60 + u(6), {"route": "/api/charge"}
    yield t, "payments", "queue_depth", 12 + _wave(t, 86400, 3) + u(2), {}


CHANGES = [
    {"service": "orders-db", "kind": "deploy", "version": "v2.14.0",
     "author": "ci", "ts": START + DEPLOY_MIN * 60,
     "description": "raise statement timeout; new connection pool settings"},
]

TOPOLOGY = {"edges": [
    {"caller": "frontend", "callee": "checkout"},
    {"caller": "checkout", "callee": "orders-db"},
    {"caller": "checkout", "callee": "payments"},
]}

FAULT_TS = START + FAULT_MIN * 60
FAULTY = {"orders-db", "checkout", "frontend"}
