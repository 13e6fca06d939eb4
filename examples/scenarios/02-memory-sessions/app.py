"""Scenario 2: server-side sessions kept in a dict in the process.

The browser holds only a random session id (cookie "sid"); the data behind it lives in
SESSIONS, a dict in this process's memory. Behind a balancer the id is unknown to every
instance but the one that made it. With REDIS_URL set, the sessions live in Redis
instead, shared by every instance (and surviving their restarts).
"""

import json
import os
import secrets

from flask import Flask, jsonify, make_response, request

app = Flask(__name__)
ME = os.environ.get("PS", "standalone")


class MemoryStore:
    """THE BUG with more than one process: each process has its own dict."""

    def __init__(self):
        self.sessions = {}

    def get(self, sid):
        return self.sessions.get(sid)

    def put(self, sid, data):
        self.sessions[sid] = data


class RedisStore:
    """The fix: one store for every instance, in Redis (sessions expire after a day)."""

    def __init__(self, url):
        import redis  # python3-redis, for /usr/bin/python3

        self.r = redis.Redis.from_url(url)

    def get(self, sid):
        raw = self.r.get("session:" + sid)
        return json.loads(raw) if raw else None

    def put(self, sid, data):
        self.r.setex("session:" + sid, 86400, json.dumps(data))


STORE = RedisStore(os.environ["REDIS_URL"]) if os.environ.get("REDIS_URL") else MemoryStore()


def current_user():
    data = STORE.get(request.cookies.get("sid", ""))
    return data and data.get("user")


@app.route("/")
def index():
    user = current_user()
    if user:
        return f"{ME}: logged in as {user}\n"
    return f"{ME}: logged out (log in at /login?user=alice)\n"


@app.route("/login")
def login():
    user = request.args.get("user", "alice")
    sid = secrets.token_urlsafe(16)
    STORE.put(sid, {"user": user})
    resp = make_response(
        f"{ME}: logged in as {user} (your session lives on {ME})\n"
        f"Now reload http://{request.host}/ a few times, or ask every instance at once:\n"
        f"  devcluster probe /whoami -H 'Cookie: sid={sid}'\n"
    )
    resp.set_cookie("sid", sid, httponly=True, samesite="Lax")
    return resp


@app.route("/whoami")
def whoami():
    return jsonify(user=current_user())


@app.route("/health")
def health():
    return "ok\n"
