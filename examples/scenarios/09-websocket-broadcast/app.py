"""Scenario 9: a WebSocket chat whose room is a set of connections in each process.

Every message a client sends is broadcast to "everyone in the room", which is the
WebSockets this process accepted. With one instance that is everyone. Behind a balancer
over three, each connection lives on one instance, so a message reaches only the third
of the room that the sender's instance holds; nothing fails, nobody is told. With
REDIS_URL set, every instance publishes what it receives to one Redis channel and
forwards what that channel carries to its own connections: the room is whole again.
"""

import asyncio
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, PlainTextResponse

ME = os.environ.get("PS", "standalone")
CHANNEL = "chat"


class LocalRoom:
    """THE BUG with more than one process: the room is this process's connections."""

    def __init__(self):
        self.here = set()

    async def start(self):
        pass

    async def stop(self):
        pass

    def join(self, ws):
        self.here.add(ws)

    def leave(self, ws):
        self.here.discard(ws)

    async def broadcast(self, text):
        await self.deliver(text)

    async def deliver(self, text):
        """Sends text to every connection of this process."""
        for ws in list(self.here):
            try:
                await ws.send_text(text)
            except Exception:  # gone meanwhile: its own handler removes it
                self.here.discard(ws)


class RedisRoom(LocalRoom):
    """The fix: every instance publishes to one Redis channel and delivers what the
    channel carries to its own connections, its own messages included."""

    def __init__(self, url):
        super().__init__()
        import redis.asyncio  # python3-redis (4.2 and later), for /usr/bin/python3

        self.redis = redis.asyncio.Redis.from_url(url)
        self.pubsub = self.redis.pubsub()
        self.task = None

    async def start(self):
        await self.pubsub.subscribe(CHANNEL)
        # Wait for Redis to confirm the subscription, so that no message published once
        # this instance is ready (its health check answers) can miss it.
        while True:
            msg = await self.pubsub.get_message(timeout=5)
            if msg and msg["type"] == "subscribe":
                break
        self.task = asyncio.create_task(self.listen())

    async def listen(self):
        while True:
            msg = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if msg and msg["type"] == "message":
                await self.deliver(msg["data"].decode())

    async def stop(self):
        if self.task:
            self.task.cancel()
        await self.pubsub.close()
        await self.redis.close()

    async def broadcast(self, text):
        await self.redis.publish(CHANNEL, text)


ROOM = RedisRoom(os.environ["REDIS_URL"]) if os.environ.get("REDIS_URL") else LocalRoom()


@asynccontextmanager
async def lifespan(app):
    await ROOM.start()
    yield
    await ROOM.stop()


app = FastAPI()
app.router.lifespan_context = lifespan  # FastAPI(lifespan=...) from FastAPI 0.93 on


@app.websocket("/chat")
async def chat(websocket: WebSocket):
    await websocket.accept()
    ROOM.join(websocket)
    try:
        await websocket.send_text("* you are on %s, with %d connection(s) here" % (ME, len(ROOM.here)))
        while True:
            text = await websocket.receive_text()
            await ROOM.broadcast(text)
    except WebSocketDisconnect:
        pass
    finally:
        ROOM.leave(websocket)


@app.get("/room")
async def room():
    # For devcluster probe: how many connections this instance holds.
    return {"instance": ME, "connections": len(ROOM.here), "store": type(ROOM).__name__}


@app.get("/health", response_class=PlainTextResponse)
async def health():
    return "ok\n"


PAGE = """<!doctype html>
<title>chat</title>
<p id="who">connecting…</p>
<form id="f"><input id="t" autofocus placeholder="say something"> <button>send</button></form>
<ul id="log"></ul>
<script>
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/chat");
const log = document.getElementById("log");
ws.onmessage = (e) => {
  if (e.data.startsWith("* ")) { document.getElementById("who").textContent = e.data.slice(2); return; }
  const li = document.createElement("li"); li.textContent = e.data; log.prepend(li);
};
ws.onclose = () => { document.getElementById("who").textContent = "disconnected: reload the page"; };
document.getElementById("f").onsubmit = (e) => {
  e.preventDefault(); const t = document.getElementById("t");
  if (t.value) { ws.send(t.value); t.value = ""; }
};
</script>
"""


@app.get("/", response_class=HTMLResponse)
async def index():
    # Open it in three tabs: each tab's WebSocket goes to the next instance.
    return PAGE
