"""Scenario 5: uploads stored on the instance's own disk.

Each instance stores uploads in uploads/<its name>/, as separate machines would each
write to their own disk. A file uploaded through one instance is a 404 on the others.
With UPLOAD_DIR set, every instance uses that one directory: the shared storage (a
network file system, an object store) of a real deployment.
"""

import os

from flask import Flask, abort, request, send_from_directory
from werkzeug.utils import secure_filename

app = Flask(__name__)
ME = os.environ.get("PS", "standalone")

# THE BUG with more than one machine: a directory of this instance's own.
UPLOAD_DIR = os.path.abspath(os.environ.get("UPLOAD_DIR") or os.path.join("uploads", ME))
os.makedirs(UPLOAD_DIR, exist_ok=True)


@app.route("/")
def index():
    files = "".join(f'<li><a href="/files/{n}">{n}</a></li>' for n in sorted(os.listdir(UPLOAD_DIR)))
    return (
        f"<p>{ME} stores uploads in {UPLOAD_DIR}</p>\n"
        '<form method="post" action="/upload" enctype="multipart/form-data">'
        '<input type="file" name="file"> <button>Upload</button></form>\n'
        f"<ul>{files}</ul>\n"
    )


@app.route("/upload", methods=["POST"])
def upload():
    f = request.files.get("file")
    name = secure_filename(f.filename) if f else ""
    if not name:
        return "choose a file to upload\n", 400
    f.save(os.path.join(UPLOAD_DIR, name))
    return f'<p>{ME} stored {name}: <a href="/files/{name}">/files/{name}</a></p>\n'


@app.route("/files/<name>")
def files(name):
    if not os.path.isfile(os.path.join(UPLOAD_DIR, secure_filename(name))):
        abort(404, description=f"{ME} has no file {name}")
    return send_from_directory(UPLOAD_DIR, secure_filename(name))


@app.route("/health")
def health():
    return "ok\n"
