"""A small FastAPI app for trying devcluster with an ASGI server: HTTP, a WebSocket, a lifespan.

Run three behind the proxy (from this directory):
                         devcluster up
                         curl http://127.0.0.1:8080/       # web.1, web.2, web.3 in turn
                         /usr/bin/python3 wsclient.py ws://127.0.0.1:8080/ws hello
Alone, without devcluster:
                         /usr/bin/python3 -m uvicorn main:app --port 5000

devcluster gives every instance its own environment: PORT (the port to listen on) and
PS (its name, e.g. "web.2"). Nothing here knows about the proxy.
"""

import asyncio
import os
import sys
from contextlib import asynccontextmanager

from fastapi import FastAPI, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import PlainTextResponse

# Reload tests and benchmarks rewrite the next line (keep it exactly as it is, on its own
# line): save the file and watch every instance start answering with the new version.
VERSION = "v1"

ME = os.environ.get("PS", "standalone")

# Per-process state: each instance counts on its own, as in the Flask example. Every
# request of an instance runs on its one event loop, so no lock is needed.
state = {"counter": 0, "started": None, "websockets": 0}


def log(msg):
    # devcluster prefixes each line with the instance's name; flush so it shows at once.
    print(msg, file=sys.stderr, flush=True)


@asynccontextmanager
async def lifespan(app):
    # The ASGI lifespan: uvicorn runs the part before yield once per process, before it
    # accepts a connection, and the part after it on a clean stop (SIGTERM, SIGINT).
    # Each instance is a process, so each runs its own: open connection pools here.
    state["started"] = os.getpid()
    log("lifespan startup: %s (pid %d)" % (ME, os.getpid()))
    yield
    log("lifespan shutdown: %s (pid %d)" % (ME, os.getpid()))


app = FastAPI(title="devcluster FastAPI example")
# FastAPI(lifespan=lifespan) on FastAPI 0.93 and later; Debian's 0.92 takes it here, as
# every version since does.
app.router.lifespan_context = lifespan


def identity():
    return {"instance": ME, "pid": os.getpid(), "port": os.environ.get("PORT", "?"), "version": VERSION}


@app.get("/", response_class=PlainTextResponse)
async def index(format: str = ""):
    me = identity()
    if format == "json":
        return PlainTextResponse(__import__("json").dumps(me) + "\n", media_type="application/json")
    return "Hello from {instance} (pid {pid}, port {port}, {version})\n".format(**me)


@app.get("/health", response_class=PlainTextResponse)
async def health():
    return "ok\n"


@app.get("/lifespan")
async def lifespan_state():
    # Whether this very process ran the startup hook (a pid of its parent's, or none,
    # would say it did not).
    return {"instance": ME, "pid": os.getpid(), "startup_ran_here": state["started"] == os.getpid()}


@app.get("/counter", response_class=PlainTextResponse)
async def counter():
    state["counter"] += 1
    return "{} has served /counter {} times (pid {})\n".format(ME, state["counter"], os.getpid())


@app.get("/slow", response_class=PlainTextResponse)
async def slow(ms: int = Query(1000, ge=0, le=60_000)):
    # /slow?ms=500 answers after half a second, without blocking the instance's other
    # requests (an await, not a sleep).
    await asyncio.sleep(ms / 1000)
    return "{} slept {} ms (pid {})\n".format(ME, ms, os.getpid())


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    # Says who it is, then echoes every text message with the instance's name. Through
    # the proxy the connection stays on the instance that accepted it.
    await websocket.accept()
    state["websockets"] += 1
    try:
        await websocket.send_text("hello from %s (%s)" % (ME, VERSION))
        while True:
            msg = await websocket.receive_text()
            await websocket.send_text("%s: %s" % (ME, msg))
    except WebSocketDisconnect:
        pass
    finally:
        state["websockets"] -= 1
