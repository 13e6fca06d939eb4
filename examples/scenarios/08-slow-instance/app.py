"""Scenario 8: one slow instance among fast ones.

Every instance answers / at once. devcluster's proxy makes one of them slow on demand
(devcluster fault delay web.3 300ms), as a noisy neighbour, a long GC pause or a cold
cache would.
"""

import os

from flask import Flask

app = Flask(__name__)
ME = os.environ.get("PS", "standalone")


@app.route("/")
def index():
    return f"{ME}: ok\n"


@app.route("/health")
def health():
    return "ok\n"
