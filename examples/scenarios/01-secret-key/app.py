"""Scenario 1: a secret key made up by each process.

Flask signs the session cookie with app.secret_key. Here the key falls back to
os.urandom() when SECRET_KEY is not set, a pattern found in many apps: it works with
one process, and with three behind a balancer each process has its own key, so a
cookie signed by one instance is rejected by the other two and the user looks logged
out on two requests out of three.
"""

import os

from flask import Flask, jsonify, request, session

app = Flask(__name__)

# THE BUG: without SECRET_KEY in the environment, every process makes up its own key.
app.secret_key = os.environ.get("SECRET_KEY") or os.urandom(32)

ME = os.environ.get("PS", "standalone")


@app.route("/")
def index():
    user = session.get("user")
    if user:
        return f"{ME}: logged in as {user}\n"
    return f"{ME}: logged out (log in at /login?user=alice)\n"


@app.route("/login")
def login():
    user = request.args.get("user", "alice")
    session["user"] = user
    # The cookie this response sets, so a reader can hand it to devcluster probe.
    cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    return (
        f"{ME}: logged in as {user}\n"
        f"Now reload http://{request.host}/ a few times, or ask every instance at once:\n"
        f"  devcluster probe /whoami -H 'Cookie: session={cookie}'\n"
    )


@app.route("/whoami")
def whoami():
    # JSON for devcluster probe: the instances agree when they all see the same user.
    return jsonify(user=session.get("user"))


@app.route("/health")
def health():
    return "ok\n"
