#!/usr/bin/env python3
"""A WebSocket client with nothing but Python's standard library (RFC 6455, text frames).

    python3 wsclient.py ws://127.0.0.1:8080/ws hello world

connects, prints the instance that accepted it (the proxy's X-Devcluster-Instance), the
server's first message, then sends each argument and prints the reply; then closes
cleanly (1000) and prints the close code the server answered with. Exit status 1 when
anything fails. Scenario 09's chat.py imports WebSocket from here.
"""

import base64
import os
import socket
import struct
import sys
import urllib.parse

TIMEOUT = 10  # seconds for the connection, the handshake and each message


class WebSocket:
    """One client connection: send(text), recv() → text, or None once closed."""

    def __init__(self, url, timeout=TIMEOUT):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "ws":
            raise ValueError("%s: only ws:// URLs" % url)
        host, port = u.hostname, u.port or 80
        path = (u.path or "/") + ("?" + u.query if u.query else "")
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)).encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            raise ConnectionError("%s: %s" % (url, lines[0]))
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.instance = self.headers.get("x-devcluster-instance", "")
        self.close_code = None

    def _until(self, marker):
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed during the handshake")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(marker)
        return head

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed in the middle of a frame")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, payload):
        # A client masks every frame (RFC 6455 5.3).
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self):
        """The next text message; None once the server closed (close_code says how)."""
        message = b""
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)  # a server sends unmasked frames
            if opcode == 0x8:  # close: answer it, as the protocol asks
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                try:
                    self._send_frame(0x8, payload[:2])
                except OSError:
                    pass
                return None
            if opcode == 0x9:  # ping → pong
                self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            message += payload
            if b0 & 0x80:
                return message.decode()

    def close(self, code=1000):
        """Closes cleanly and returns the server's close code (None if it sent none)."""
        try:
            self._send_frame(0x8, struct.pack("!H", code))
            while self.close_code is None and self.recv() is not None:
                pass
        except (OSError, ConnectionError):
            pass
        finally:
            self.sock.close()
        return self.close_code


def main(argv):
    if len(argv) < 2:
        print("usage: wsclient.py ws://HOST:PORT/PATH [MESSAGE...]", file=sys.stderr)
        return 2
    try:
        ws = WebSocket(argv[1])
        print("connected to %s" % (ws.instance or "?"))
        print("< %s" % ws.recv())
        for msg in argv[2:]:
            ws.send(msg)
            print("> %s" % msg)
            print("< %s" % ws.recv())
        print("closed %s" % ws.close())
    except (OSError, ConnectionError, ValueError) as e:
        print("wsclient: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
