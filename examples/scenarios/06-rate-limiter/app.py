"""Scenario 6: a rate limiter that counts in each process.

"At most 5 requests per client per 10 seconds", counted in a dict in the process. Behind a
balancer over three instances each one counts a third of the traffic, so a client gets
15 requests through, not 5. With REDIS_URL set, the count is one Redis key per client
and window, shared by every instance.
"""

import os
import threading
import time

from flask import Flask, jsonify, request

app = Flask(__name__)
ME = os.environ.get("PS", "standalone")
LIMIT, WINDOW = 5, 10  # requests, seconds


class MemoryLimiter:
    """THE BUG with more than one process: each process counts on its own."""

    def __init__(self):
        self.lock = threading.Lock()
        self.windows = {}  # client -> [window start, requests in it]

    def hit(self, client):
        with self.lock:
            w = self.windows.get(client)
            if w is None or time.time() - w[0] >= WINDOW:
                w = self.windows[client] = [time.time(), 0]
            w[1] += 1
            return w[1]

    def used(self, client):
        w = self.windows.get(client)
        return 0 if w is None or time.time() - w[0] >= WINDOW else w[1]


class RedisLimiter:
    """The fix: one counter per client for every instance, in Redis; it expires with
    its window."""

    def __init__(self, url):
        import redis  # python3-redis, for /usr/bin/python3

        self.r = redis.Redis.from_url(url)

    def hit(self, client):
        n = self.r.incr("ratelimit:" + client)
        if n == 1:
            self.r.expire("ratelimit:" + client, WINDOW)
        return n

    def used(self, client):
        return int(self.r.get("ratelimit:" + client) or 0)


LIMITER = RedisLimiter(os.environ["REDIS_URL"]) if os.environ.get("REDIS_URL") else MemoryLimiter()


def client():
    # The proxy passes the client's address in X-Real-IP, as nginx's configuration does.
    return request.headers.get("X-Real-IP", request.remote_addr)


@app.route("/")
def index():
    n = LIMITER.hit(client())
    if n > LIMIT:
        return f"{ME}: too many requests ({LIMIT} per {WINDOW} s)\n", 429
    return f"{ME}: allowed ({n} of {LIMIT} in this {WINDOW} s window)\n"


@app.route("/quota")
def quota():
    # Read-only, for devcluster probe: how many requests this instance counted for you.
    return jsonify(used=LIMITER.used(client()), limit=LIMIT)


@app.route("/health")
def health():
    return "ok\n"
