"""Scenario 3: a per-process cache and a per-process counter drift apart.

The price lives in a SQLite file that every instance opens (the shared database). Reading
it on every request is slow in real life, so each process caches it for five minutes, and
counts page views in a variable. A POST updates the database and the cache of the
instance that served it; the others keep the old price until their cache expires, and
each counts its own views and price changes. With REDIS_URL set, the cache and the counter live in Redis,
shared by every instance.
"""

import os
import sqlite3
import threading
import time

from flask import Flask, jsonify, redirect, request

app = Flask(__name__)
ME = os.environ.get("PS", "standalone")
DB = os.environ.get("SHOP_DB", "shop.db")
TTL = 300  # seconds a cached price is trusted


def db():
    conn = sqlite3.connect(DB, timeout=10)
    conn.execute("CREATE TABLE IF NOT EXISTS price (id INTEGER PRIMARY KEY CHECK (id = 1), euros INTEGER)")
    conn.execute("INSERT OR IGNORE INTO price VALUES (1, 10)")
    conn.commit()
    return conn


def load_price():
    with db() as conn:
        return conn.execute("SELECT euros FROM price WHERE id = 1").fetchone()[0]


def store_price(euros):
    with db() as conn:
        conn.execute("UPDATE price SET euros = ? WHERE id = 1", (euros,))


class MemoryCache:
    """THE BUG with more than one process: each has its own cache and its own count."""

    def __init__(self):
        self.lock = threading.Lock()
        self.price, self.expires, self.views, self.updates = None, 0.0, 0, 0

    def get_price(self):
        with self.lock:
            if self.price is None or time.time() > self.expires:
                self.price, self.expires = load_price(), time.time() + TTL
            return self.price

    def set_price(self, euros):
        store_price(euros)
        with self.lock:
            self.price, self.expires = euros, time.time() + TTL
            self.updates += 1

    def count_view(self):
        with self.lock:
            self.views += 1
            return self.views

    def counts(self):
        return self.views, self.updates


class RedisCache:
    """The fix: one cache and one counter for every instance, in Redis."""

    def __init__(self, url):
        import redis  # python3-redis, for /usr/bin/python3

        self.r = redis.Redis.from_url(url)

    def get_price(self):
        cached = self.r.get("price")
        if cached is None:
            cached = load_price()
            self.r.set("price", cached, ex=TTL)
        return int(cached)

    def set_price(self, euros):
        store_price(euros)
        self.r.set("price", euros, ex=TTL)
        self.r.incr("updates")

    def count_view(self):
        return self.r.incr("views")

    def counts(self):
        views, updates = self.r.mget("views", "updates")
        return int(views or 0), int(updates or 0)


CACHE = RedisCache(os.environ["REDIS_URL"]) if os.environ.get("REDIS_URL") else MemoryCache()


@app.route("/")
def index():
    CACHE.count_view()
    views, updates = CACHE.counts()
    return (
        f"<p>{ME}: price {CACHE.get_price()} euros, page viewed {views} times, "
        f"price changed {updates} times</p>\n"
        '<form method="post" action="/price">New price: <input name="price" size="4"> '
        "<button>Save</button></form>\n"
    )


@app.route("/price", methods=["POST"])
def set_price():
    try:
        euros = int(request.form["price"])
    except (KeyError, ValueError):
        return "price must be a whole number of euros\n", 400
    CACHE.set_price(euros)
    return redirect("/", code=303)


@app.route("/stats")
def stats():
    # Read-only, for devcluster probe: what this instance would show, without counting.
    views, updates = CACHE.counts()
    return jsonify(price=CACHE.get_price(), views=views, updates=updates)


@app.route("/health")
def health():
    return "ok\n"
