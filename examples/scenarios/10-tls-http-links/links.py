#!/usr/bin/env python3
"""Scenario 10's measurement: how many of the app's absolute URLs point to http://.

    python3 links.py https://127.0.0.1:8080/ [--rounds 10] [--cacert FILE]

does ROUNDS times, through the proxy, what a browser and an OAuth client do: GET
/account logged out (the redirect to the login page carries next=request.url), POST
/login (the redirect back to that next), GET /oauth/start (the redirect_uri built with
url_for(_external=True)). Redirects are not followed: it reads each URL the app built
and counts those that point to http:// although the browser used https://. Exit status
1 when one does. It trusts devcluster's local CA (the file `devcluster trust --path`
prints) without installing it; --cacert names another. Needs only Python's standard
library.
"""

import argparse
import http.client
import json
import ssl
import subprocess
import sys
import urllib.parse


def ca_file(given):
    if given:
        return given
    out = subprocess.run(["devcluster", "trust", "--path"], check=True, capture_output=True, text=True)
    return out.stdout.strip()


class Client:
    def __init__(self, url, cafile):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "https":
            sys.exit("links.py: want an https:// URL (start the cluster with devcluster up --https)")
        self.host, self.port = u.hostname, u.port or 443
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.cookie = ""
        self.instances = {}  # answers by instance

    def do(self, method, path, body=None):
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=10)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            body = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read().decode()
        inst = resp.getheader("X-Devcluster-Instance", "?")
        self.instances[inst] = self.instances.get(inst, 0) + 1
        cookie = resp.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        conn.close()
        return resp, data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--cacert")
    a = ap.parse_args()
    if not 1 <= a.rounds <= 1000:
        ap.error("--rounds 1-1000")
    c = Client(a.url, ca_file(a.cacert))

    kinds = [
        ("login redirect, next=request.url", []),
        ("after login, redirect(next)", []),
        ("OAuth redirect_uri, url_for(_external=True)", []),
    ]
    for _ in range(a.rounds):
        c.cookie = ""  # a new visitor each round
        resp, _ = c.do("GET", "/account")
        login = urllib.parse.urlsplit(resp.getheader("Location", ""))
        nxt = urllib.parse.parse_qs(login.query).get("next", [""])[0]
        kinds[0][1].append(nxt)
        resp, _ = c.do("POST", "/login?" + login.query, {"user": "alice"})
        kinds[1][1].append(resp.getheader("Location", ""))
        resp, data = c.do("GET", "/oauth/start")
        kinds[2][1].append(json.loads(data)["redirect_uri"])

    spread = ", ".join(f"{k} {v}" for k, v in sorted(c.instances.items()))
    print(f"{a.rounds} rounds, {sum(c.instances.values())} requests through {a.url} ({spread})")
    total = plain = 0
    for name, urls in kinds:
        n = sum(1 for u in urls if u.startswith("http://"))
        total, plain = total + len(urls), plain + n
        print(f"  {name}: {n} of {len(urls)} to http://   e.g. {urls[0]}")
    if plain:
        print(f"{plain} of {total} URLs point to http:// behind https:// (the app does not know it is behind TLS)")
        return 1
    print(f"0 of {total} URLs point to http://: every one is https://")
    return 0


if __name__ == "__main__":
    sys.exit(main())
