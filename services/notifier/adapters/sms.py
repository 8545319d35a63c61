"""SMS: Vonage when VONAGE_API_KEY is set, else a JSON-lines log a person can read."""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Protocol

from quoteflow.envelope import rfc3339, utcnow


class SmsError(Exception):
    def __init__(self, message: str, transient: bool = True):
        super().__init__(message)
        self.transient = transient


class SmsSender(Protocol):
    def send(self, to: str, text: str) -> None: ...


class FileSmsLog:
    """Appends each SMS as one JSON line to a file (the embedded mode)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()

    def send(self, to: str, text: str) -> None:
        line = json.dumps({"at": rfc3339(utcnow()), "to": to, "text": text}, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    def lines(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]


class VonageSms:
    """Sends through Vonage's SMS API (SDK v4). Error taxonomy and a fake server come later."""

    def __init__(self, api_key: str, api_secret: str, sender: str):
        from vonage import Auth, Vonage

        self._client = Vonage(Auth(api_key=api_key, api_secret=api_secret))
        self._sender = sender

    def send(self, to: str, text: str) -> None:
        from vonage_sms import SmsMessage

        number = to.replace(" ", "").lstrip("+")
        if number.startswith("00"):
            number = number[2:]
        try:
            response = self._client.sms.send(SmsMessage(to=number, from_=self._sender, text=text, type="unicode"))
        except Exception as exc:  # the SDK raises several families; all are worth a retry for now
            raise SmsError(f"{type(exc).__name__}: {exc}") from None
        failed = [m for m in response.messages if str(m.status) != "0"]
        if failed:
            raise SmsError(f"Vonage status {failed[0].status}: {getattr(failed[0], 'error_text', '')}")


def build_sms(cfg) -> SmsSender:
    if cfg.vonage_api_key:
        return VonageSms(cfg.vonage_api_key, cfg.vonage_api_secret, cfg.vonage_from)
    return FileSmsLog(cfg.sms_log)
