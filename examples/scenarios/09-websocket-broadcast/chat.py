#!/usr/bin/env python3
"""Scenario 9's measurement: how many chat messages reach everyone in the room.

    python3 chat.py ws://127.0.0.1:8080/chat [--clients 3] [--messages 10] [--wait 2]

opens CLIENTS WebSockets one after the other (through the proxy's round robin, one per
instance), lets each send MESSAGES messages, and counts what every client received:
each message should reach every client, its sender included. A client stops waiting
once it has everything or after WAIT seconds of the rest not coming. Exit status 1 when
a message was lost. Needs nothing but Python's standard library.
"""

import argparse
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fastapi"))
from wsclient import WebSocket  # noqa: E402  (examples/fastapi/wsclient.py)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--messages", type=int, default=10)
    ap.add_argument("--wait", type=float, default=2.0)
    a = ap.parse_args()
    if not (1 <= a.clients <= 50 and 1 <= a.messages <= 1000 and 0 < a.wait <= 30):
        ap.error("--clients 1-50, --messages 1-1000, --wait up to 30 s")

    clients = []
    for i in range(a.clients):
        ws = WebSocket(a.url, timeout=a.wait)
        ws.name = "client %d" % (i + 1)
        ws.welcome = ws.recv()  # "* you are on web.N, ..."
        ws.got = set()
        clients.append(ws)

    sent = set()
    for m in range(a.messages):
        for ws in clients:
            text = "%s says %d" % (ws.name, m + 1)
            ws.send(text)
            sent.add(text)

    def collect(ws):
        deadline = time.monotonic() + a.wait
        while len(ws.got) < len(sent) and time.monotonic() < deadline:
            ws.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                text = ws.recv()
            except (OSError, ConnectionError):
                break
            if text is None:
                break
            if text in sent:
                ws.got.add(text)

    readers = [threading.Thread(target=collect, args=(ws,)) for ws in clients]
    for r in readers:
        r.start()
    for r in readers:
        r.join()
    for ws in clients:
        ws.sock.settimeout(a.wait)
        ws.close()

    want = len(sent) * len(clients)
    got = sum(len(ws.got) for ws in clients)
    on = [ws.instance or "?" for ws in clients]
    n = len(set(on))
    print("%d clients on %d instance%s (%s), %d messages each: %d of %d deliveries (%d%%), %d lost"
          % (len(clients), n, "" if n == 1 else "s", ", ".join(on), a.messages, got, want, round(100 * got / want), want - got))
    for ws in clients:
        print("  %s on %s: got %d of %d" % (ws.name, ws.instance or "?", len(ws.got), len(sent)))
    return 0 if got == want else 1


if __name__ == "__main__":
    sys.exit(main())
