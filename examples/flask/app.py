"""A small Flask app for trying devcluster: which instance answered, and why it matters.

Run it alone:            flask --app app run --no-reload --port 5000
Run three behind a proxy (from the repository root):
                         devcluster up -f Procfile.example -m web=3
                         curl http://127.0.0.1:8080/      # web.1, web.2, web.3 in turn

devcluster gives every instance its own environment: PORT (the port to listen on) and
PS (its name, e.g. "web.2"). Everything below only reads them; nothing here knows about
the proxy.
"""

import json
import os
import threading
import time

from flask import Flask, Response, request

# Reload tests and benchmarks rewrite the next line (keep it exactly as it is, on its own
# line): save the file and watch every instance start answering with the new version.
VERSION = "v1"

app = Flask(__name__)

# Per-process state. Each instance is its own process with its own memory, so through the
# balancer every instance keeps a separate count: the classic bug of in-memory sessions and
# caches in a multi-instance deployment, made visible.
_counter = 0
_counter_lock = threading.Lock()  # the dev server may serve requests from several threads


def _identity():
    """Who is answering: instance name, process id and port."""
    return {
        "instance": os.environ.get("PS", "standalone"),
        "pid": os.getpid(),
        "port": os.environ.get("PORT", "?"),
        "version": VERSION,
    }


def _wants_json():
    """JSON for ?format=json or Accept: application/json; plain text otherwise."""
    if request.args.get("format") == "json":
        return True
    best = request.accept_mimetypes.best_match(["text/plain", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/plain"]


def _reply(data, text):
    if _wants_json():
        return Response(json.dumps(data) + "\n", mimetype="application/json")
    return Response(text + "\n", mimetype="text/plain")


@app.route("/")
def index():
    me = _identity()
    text = "Hello from {instance} (pid {pid}, port {port}, {version})".format(**me)
    return _reply(me, text)


@app.route("/health")
def health():
    # devcluster (and any balancer) can poll this to decide whether the instance is up.
    return Response("ok\n", mimetype="text/plain")


@app.route("/counter")
def counter():
    global _counter
    with _counter_lock:
        _counter += 1
        value = _counter
    me = _identity()
    me["counter"] = value
    text = "{instance} has served /counter {counter} times (pid {pid})".format(**me)
    return _reply(me, text)


@app.route("/slow")
def slow():
    # /slow?ms=500 answers after half a second: try leastconn, or watch a reload drain
    # in-flight requests before stopping an instance.
    try:
        ms = max(0, min(int(request.args.get("ms", "1000")), 60_000))
    except ValueError:
        return Response("ms must be a whole number of milliseconds\n", status=400, mimetype="text/plain")
    time.sleep(ms / 1000)
    me = _identity()
    me["slept_ms"] = ms
    return _reply(me, "{instance} slept {slept_ms} ms (pid {pid})".format(**me))


@app.route("/stream")
def stream():
    # Server-sent events: five events, one every 200 ms. Each yield is flushed to the client
    # as it is produced, so through the proxy the first event arrives before the last is sent.
    me = _identity()

    def events():
        for i in range(1, 6):
            yield "data: event {} of 5 from {}\n\n".format(i, me["instance"])
            time.sleep(0.2)

    return Response(events(), mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})


@app.route("/crash")
def crash():
    # Exits the whole process at once, without answering: devcluster notices, takes the
    # instance out of rotation, and restarts it. Meanwhile the other instances keep serving.
    os._exit(1)


if __name__ == "__main__":
    # `python3 app.py` also works; devcluster's Procfile uses `flask run --no-reload`.
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")), use_reloader=False)
