"""A mail catcher for the compose stack where Mailpit's image cannot be pulled.

Keeps every message it receives over SMTP (port 1025) in memory and serves the part of Mailpit's
HTTP API a test reads (port 8025), so the same client works against either:
  GET /api/v1/messages            newest first: ID, From, To, Subject, Created
  GET /api/v1/message/<ID>/raw    the message as received
  GET /readyz                     200 once both servers listen
"""
from __future__ import annotations

import json
import signal
import sys
import threading
import uuid
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

_messages: list[dict] = []
_lock = threading.Lock()


class _Keep:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with _lock:
            _messages.insert(0, {
                "ID": uuid.uuid4().hex,
                "From": {"Address": envelope.mail_from},
                "To": [{"Name": name, "Address": address}
                       for name, address in getaddresses(parsed.get_all("To", []))],
                "Subject": str(parsed.get("Subject", "")),
                "Created": datetime.now(timezone.utc).isoformat(),
                "raw": envelope.content,
            })
        return "250 Message accepted for delivery"


class _Api(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/readyz":
            return self._send(200, b"ok", "text/plain")
        if path == "/api/v1/messages":
            with _lock:
                summaries = [{k: v for k, v in m.items() if k != "raw"} for m in _messages]
            body = json.dumps({"total": len(summaries), "messages": summaries}).encode()
            return self._send(200, body, "application/json")
        parts = path.split("/")
        if len(parts) == 6 and parts[:4] == ["", "api", "v1", "message"] and parts[5] == "raw":
            with _lock:
                found = next((m["raw"] for m in _messages if m["ID"] == parts[4]), None)
            if found is not None:
                return self._send(200, found, "message/rfc822")
        return self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
        pass


if __name__ == "__main__":
    # PID 1 ignores SIGTERM unless it handles it: `docker stop` would wait out its timeout.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    smtp = Controller(_Keep(), hostname="0.0.0.0", port=1025)
    smtp.start()
    print("mailcatcher: SMTP on 1025, HTTP on 8025", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8025), _Api).serve_forever()
