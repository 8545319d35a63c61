"""A local fake of Vonage's SMS API (POST /sms/json) on real HTTPS, scripted answer by answer."""
from __future__ import annotations

import base64
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from tests.integration.notifier.tls import server_context

OK = ("ok",)
DROP = ("drop",)  # read the request, then close the connection without answering


def http(status: int) -> tuple:
    return ("http", status)


def status(code: str, text: str) -> tuple:
    return ("status", code, text)


class FakeVonage:
    """Answers each POST with the next scripted behaviour (then OK); records every request it read."""

    def __init__(self, cert, key, api_key: str, api_secret: str, script=()):
        self.api_key, self.api_secret = api_key, api_secret
        self.script = list(script)
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep the test output clean
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                with fake._lock:
                    fake.requests.append({"path": self.path, "form": form,
                                          "authorization": self.headers.get("Authorization", "")})
                    behaviour = fake.script.pop(0) if fake.script else OK
                if behaviour == DROP:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if not fake._authorized(self.headers.get("Authorization", "")):
                    return self._answer(401, {"type": "UNAUTHORIZED", "title": "Bad credentials"})
                if behaviour[0] == "http":
                    return self._answer(behaviour[1], {"title": "scripted error"})
                code, text = ("0", "") if behaviour == OK else behaviour[1:]
                message = {"to": form.get("to", ""), "status": code}
                if code == "0":
                    message.update({"message-id": uuid.uuid4().hex, "remaining-balance": "3.14",
                                    "message-price": "0.05", "network": "20801"})
                    if "client-ref" in form:
                        message["client-ref"] = form["client-ref"]
                else:
                    message["error-text"] = text
                self._answer(200, {"message-count": "1", "messages": [message]})

            def _answer(self, code: int, document: dict):
                data = json.dumps(document).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = server_context(cert, key).wrap_socket(self.server.socket, server_side=True)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _authorized(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.api_key}:{self.api_secret}".encode()).decode()
        return header == f"Basic {expected}"

    def __enter__(self) -> "FakeVonage":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
