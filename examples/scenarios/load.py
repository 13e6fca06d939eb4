#!/usr/bin/env python3
"""The workshop's load tool, small and bounded: CLIENTS clients send GET URL one after
the other (keep-alive) for at most SECONDS or REQUESTS, whichever comes first, each as
fast as it can or, with --rate, all together at most RATE requests per second. Then it
prints the latency percentiles, how many requests each instance answered, and what
failed (a failure is part of what it measures: the exit status is 0 even then, and 2
only for bad arguments).

    python3 load.py http://127.0.0.1:8080/ [--clients 3] [--seconds 5] [--requests 3000] [--rate R]

Standard library only, so any python3 runs it.
"""

import argparse
import http.client
import sys
import threading
import time
import urllib.parse
from collections import Counter


def client(url, deadline, budget, interval, lock, out, per_instance, errors):
    u = urllib.parse.urlsplit(url)
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    conn = None
    next_start = time.monotonic()
    while time.monotonic() < deadline:
        with lock:
            if budget[0] <= 0:
                break
            budget[0] -= 1
        if interval:
            time.sleep(max(0.0, next_start - time.monotonic()))
            next_start += interval
        start = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            ok = resp.status < 400
            inst = resp.getheader("X-Devcluster-Instance", "?")
            if not ok:
                inst += " " + str(resp.status)
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            ok, inst = False, type(e).__name__
            if conn is not None:
                conn.close()
            conn = None
        ms = (time.monotonic() - start) * 1000
        with lock:
            if ok:
                out.append(ms)
                per_instance[inst] += 1
            else:
                errors[inst] += 1
    if conn is not None:
        conn.close()


def percentile(sorted_ms, p):
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * p / 100))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("--clients", type=int, default=3, help="concurrent clients (default 3, at most 64)")
    ap.add_argument("--seconds", type=float, default=5, help="stop after this long (default 5, at most 60)")
    ap.add_argument("--requests", type=int, default=3000, help="stop after this many (default 3000, at most 100000)")
    ap.add_argument("--rate", type=float, default=0, help="requests per second for all clients together (default: as fast as they can)")
    a = ap.parse_args()
    if not (1 <= a.clients <= 64 and 0 < a.seconds <= 60 and 1 <= a.requests <= 100000 and a.rate >= 0):
        sys.exit("load.py: --clients 1-64, --seconds up to 60, --requests up to 100000, --rate 0 or more")
    interval = a.clients / a.rate if a.rate else 0
    lock, out, per_instance, errors = threading.Lock(), [], Counter(), Counter()
    budget = [a.requests]
    deadline = time.monotonic() + a.seconds
    threads = [
        threading.Thread(target=client, args=(a.url, deadline, budget, interval, lock, out, per_instance, errors))
        for _ in range(a.clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.sort()
    print(
        f"{len(out)} requests, {sum(errors.values())} failed, "
        f"p50 {percentile(out, 50):.1f} ms, p99 {percentile(out, 99):.1f} ms, max {out[-1] if out else 0:.1f} ms"
    )
    print("answered by: " + ", ".join(f"{k} {v}" for k, v in sorted(per_instance.items())))
    if errors:
        print("failed: " + ", ".join(f"{k} {v}" for k, v in sorted(errors.items())))


if __name__ == "__main__":
    main()
