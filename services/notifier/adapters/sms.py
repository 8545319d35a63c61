"""SMS: Vonage (SDK v4) when VONAGE_API_KEY is set, else a JSON-lines log a person can read.

Vonage's answers are sorted by kind so the dispatcher knows what to do:

- rate limits (HTTP 429, status 1 "Throttled") and server errors (HTTP 5xx, status 5)
  are transient: retried with back-off;
- authentication (HTTP 401/403, status 4 / 14) and bad numbers (status 3, 6, 7, 29, 33 or a
  number that is not E.164) are permanent: given up at once, with the reason;
- a connection dropped *after* the request was written is neither: Vonage may have sent
  the SMS, so it is given up ("outcome unknown") rather than risk a second SMS.

The SDK itself retries a dropped connection (``RemoteDisconnected``) up to
``pool_maxsize`` times, POST included, and urllib3 retries per ``max_retries``: this
adapter sets ``pool_maxsize=1`` (one attempt in the SDK's loop) and ``max_retries=0``,
and builds a fresh client per SMS so no stale pooled connection is ever written to.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from pathlib import Path
from typing import Protocol

from quoteflow.envelope import rfc3339, utcnow
from services.notifier.domain.model import msisdn


class SmsError(Exception):
    def __init__(self, message: str, transient: bool = True):
        super().__init__(message)
        self.transient = transient


class SmsSender(Protocol):
    def send(self, to: str, text: str, reference: str = "") -> None: ...


class FileSmsLog:
    """Appends each SMS as one JSON line to a file (the embedded mode's phone)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()

    def send(self, to: str, text: str, reference: str = "") -> None:
        line = json.dumps({"at": rfc3339(utcnow()), "to": to, "text": text, "reference": reference},
                          ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    def lines(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]


# Vonage SMS API statuses (https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms)
_TRANSIENT_STATUSES = {"1": "limite de débit Vonage atteinte (Throttled)", "5": "erreur interne de Vonage"}
_AUTH_STATUSES = {"4": "identifiants Vonage refusés", "8": "compte Vonage bloqué", "14": "signature Vonage invalide"}
_NUMBER_STATUSES = {"3": "numéro ou paramètre invalide", "6": "numéro non joignable", "7": "numéro bloqué",
                    "29": "numéro non autorisé pour ce compte Vonage", "33": "numéro désactivé"}

# The GSM 03.38 default alphabet (one septet each) and its extension table (two septets: escape + char).
_GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
            "¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM7_EXTENSION = set("^{}\\[~]|€")
_GSM7_ALL = _GSM7 | _GSM7_EXTENSION
# What French text needs that GSM-7 lacks; other letters lose their accent (NFD) when that gives GSM-7.
_SPELLED = str.maketrans({
    "œ": "oe", "Œ": "OE", "«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'",
    "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-", "…": "...", "\u00a0": " ", "\u202f": " ", "\u2009": " ",
    "\u2007": " ", "\t": " ",
})
_GUILLEMETS = re.compile("«[\\s\u00a0\u202f]*|[\\s\u00a0\u202f]*»")
SMS_PART = 160  # septets in one GSM-7 SMS; a longer text is split into parts of 153


def gsm7(text: str) -> str:
    """``text`` in the GSM-7 alphabet when French accents and punctuation are all that keep it out
    (« ê » -> « e », « ç » -> « c », « œ » -> « oe », « – » -> « - »; « é è à ù É » are GSM-7 and stay), so an
    SMS costs 160 characters a part rather than 70; a text in another script is returned as it is."""
    spelled = []
    for char in _GUILLEMETS.sub('"', text or "").translate(_SPELLED):
        if char not in _GSM7_ALL:
            bare = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
            char = bare if bare and set(bare) <= _GSM7_ALL else char
        spelled.append(char)
    result = "".join(spelled)
    return result if set(result) <= _GSM7_ALL else text


def septets(text: str) -> int:
    """How many GSM-7 septets ``text`` takes (an extension character counts two); -1 if it is not GSM-7."""
    if not set(text) <= _GSM7_ALL:
        return -1
    return len(text) + sum(1 for char in text if char in _GSM7_EXTENSION)


class _NoSecretsInDebug(logging.Filter):
    """The SDK logs every request's parameters (the SMS text, the API secret) at DEBUG: never let them out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def _silence_sdk_debug() -> None:
    sdk_log = logging.getLogger("vonage")
    if not any(isinstance(f, _NoSecretsInDebug) for f in sdk_log.filters):
        sdk_log.addFilter(_NoSecretsInDebug())
    sdk_log.setLevel(max(sdk_log.level, logging.INFO))


class VonageSms:
    """Sends through Vonage's SMS API with the v4 SDK; errors classified as the module says."""

    def __init__(self, api_key: str, api_secret: str, sender: str, *, rest_host: str = "rest.nexmo.com",
                 api_host: str = "api.nexmo.com", ca_bundle: str = "", timeout: int = 10):
        self._api_key, self._api_secret, self._sender = api_key, api_secret, sender
        self._rest_host, self._api_host = rest_host, api_host
        self._ca_bundle, self._timeout = ca_bundle, timeout
        _silence_sdk_debug()
        import vonage  # noqa: F401 - the SDK takes seconds to import: at start, not during the first SMS

    def _client(self):
        from vonage import Auth, HttpClientOptions, Vonage

        options = HttpClientOptions(rest_host=self._rest_host, api_host=self._api_host, timeout=self._timeout,
                                    max_retries=0, pool_connections=1, pool_maxsize=1)
        client = Vonage(Auth(api_key=self._api_key, api_secret=self._api_secret), options)
        if self._ca_bundle:
            # HttpClientOptions has no CA setting, and requests lets REQUESTS_CA_BUNDLE override a session's
            # ``verify``: an adapter that always verifies against the configured bundle (and never retries).
            client.http_client._session.mount("https://", _PinnedCaAdapter(self._ca_bundle))  # noqa: SLF001
        return client

    def send(self, to: str, text: str, reference: str = "") -> None:
        import requests
        from vonage_http_client.errors import AuthenticationError, ForbiddenError, HttpRequestError
        from vonage_sms import SmsError as VonageSmsError
        from vonage_sms import SmsMessage

        number = msisdn(to)
        if not number:
            raise SmsError(f"numéro invalide : {to[:40]!r}", transient=False)
        client = self._client()
        message = SmsMessage(to=number, from_=self._sender, text=text,
                             type="text" if septets(text) >= 0 else "unicode",
                             client_ref=reference[:100] or None)
        try:
            client.sms.send(message)
        except (AuthenticationError, ForbiddenError) as exc:
            raise SmsError(f"Vonage a refusé l'authentification (HTTP {exc.response.status_code})",
                           transient=False) from None
        except HttpRequestError as exc:
            status = exc.response.status_code
            transient = status == 429 or status >= 500
            kind = "limite de débit" if status == 429 else "erreur serveur" if status >= 500 else "requête refusée"
            raise SmsError(f"Vonage HTTP {status} ({kind})", transient=transient) from None
        except VonageSmsError as exc:
            raise _status_error(client, exc) from None
        except requests.exceptions.ConnectionError as exc:
            if _never_sent(exc):
                raise SmsError(f"Vonage injoignable : {type(exc).__name__}", transient=True) from None
            raise SmsError("connexion à Vonage coupée après l'envoi de la requête : issue inconnue, pas de nouvel "
                           "essai pour ne pas envoyer le SMS deux fois", transient=False) from None
        except requests.exceptions.Timeout as exc:
            if isinstance(exc, requests.exceptions.ConnectTimeout):
                raise SmsError("Vonage injoignable : délai de connexion dépassé", transient=True) from None
            raise SmsError("Vonage n'a pas répondu à temps : issue inconnue, pas de nouvel essai pour ne pas "
                           "envoyer le SMS deux fois", transient=False) from None


def _pinned_ca_adapter():
    from requests.adapters import HTTPAdapter

    class PinnedCaAdapter(HTTPAdapter):
        def __init__(self, ca_bundle: str):
            super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)
            self.ca_bundle = ca_bundle

        def send(self, request, **kwargs):
            kwargs["verify"] = self.ca_bundle
            return super().send(request, **kwargs)

    return PinnedCaAdapter


def _PinnedCaAdapter(ca_bundle: str):  # noqa: N802 - builds the class lazily, requests is imported on use
    return _pinned_ca_adapter()(ca_bundle)


def _status_error(client, exc) -> SmsError:
    status, text = "", str(exc)
    response = client.http_client.last_response
    try:
        first = response.json()["messages"][0]
        status, text = str(first.get("status", "")), str(first.get("error-text", ""))
    except (AttributeError, ValueError, KeyError, IndexError, TypeError):
        pass
    if status in _TRANSIENT_STATUSES:
        return SmsError(f"Vonage statut {status} : {_TRANSIENT_STATUSES[status]}", transient=True)
    why = _AUTH_STATUSES.get(status) or _NUMBER_STATUSES.get(status) or text
    return SmsError(f"Vonage statut {status or '?'} : {why}"[:300], transient=False)


def _never_sent(exc: Exception) -> bool:
    """True when the connection failed before the request was written (refused, DNS, TLS handshake)."""
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NameResolutionError, NewConnectionError

    import requests

    if isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.ConnectTimeout)):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError, NameResolutionError))


def build_sms(cfg) -> SmsSender:
    if cfg.vonage_api_key:
        return VonageSms(cfg.vonage_api_key, cfg.vonage_api_secret, cfg.vonage_from, rest_host=cfg.vonage_rest_host,
                         api_host=cfg.vonage_api_host, ca_bundle=cfg.vonage_ca_bundle)
    return FileSmsLog(cfg.sms_log)
