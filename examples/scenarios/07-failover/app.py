"""Scenario 7: failover. A fast app, and one request that kills whoever serves it.

/ answers at once; /crash ends the process without answering (os._exit), as a
segfault, an out-of-memory kill or an assertion in C code would: the "query of death".
"""

import os

from flask import Flask

app = Flask(__name__)
ME = os.environ.get("PS", "standalone")


@app.route("/")
def index():
    return f"{ME}: ok\n"


@app.route("/crash")
def crash():
    os._exit(1)


@app.route("/health")
def health():
    return "ok\n"
