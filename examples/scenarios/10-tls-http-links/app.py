"""Scenario 10: behind TLS, the app builds http:// links.

The browser speaks HTTPS to the proxy; the proxy speaks plain HTTP to the instances,
as every TLS-terminating balancer does. Flask builds absolute URLs from what its own
request says (wsgi.url_scheme "http"), so every absolute URL it makes -- the next=
of a login redirect (request.url), the page a login sends you back to, an OAuth
redirect_uri from url_for(..., _external=True) -- points to http://. The proxy tells
the truth in X-Forwarded-Proto: https, but Flask ignores those headers unless it is
told that a proxy it trusts sets them (werkzeug's ProxyFix).
"""

import os

from flask import Flask, jsonify, redirect, request, session, url_for

app = Flask(__name__)
app.secret_key = os.environ.get("SECRET_KEY", "scenario-10-shared-key")
# Behind HTTPS the session cookie should only travel over HTTPS.
app.config["SESSION_COOKIE_SECURE"] = True

ME = os.environ.get("PS", "standalone")

# THE FIX (off until TRUST_PROXY=1, see proxyfix.yaml): believe X-Forwarded-Proto,
# -Host and -For from one proxy in front (devcluster's). Only behind a proxy: a client
# that reached the app directly could send these headers itself.
if os.environ.get("TRUST_PROXY") == "1":
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)


@app.route("/")
def index():
    return (
        f"{ME}: this request reached the app as {request.scheme}:// "
        f"(is_secure={request.is_secure}); the browser used "
        f"{request.headers.get('X-Forwarded-Proto', '?')}://\n"
        f"share this page: {url_for('index', _external=True)}\n"
    )


@app.route("/account")
def account():
    # What Flask-Login's @login_required does: send the user to the login page with
    # the URL to come back to.
    if "user" not in session:
        return redirect(url_for("login", next=request.url))
    return f"{ME}: the account of {session['user']}\n"


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return f'<form method="post"><input name="user" value="alice"><button>log in</button></form>\n'
    session["user"] = request.form.get("user", "alice")
    return redirect(request.args.get("next") or url_for("account", _external=True))


@app.route("/oauth/start")
def oauth_start():
    # The redirect_uri an OAuth provider is told to send the user back to: it must be
    # the https:// URL registered with the provider, or the provider refuses it.
    return jsonify(instance=ME, redirect_uri=url_for("oauth_callback", _external=True))


@app.route("/oauth/callback")
def oauth_callback():
    return f"{ME}: back from the provider\n"


@app.route("/health")
def health():
    return "ok\n"
