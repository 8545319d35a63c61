"""Email: composing a safe MIME message, and the transports that send it.

``SMTP_HOST`` set -> :class:`SmtpTransport` (plain, STARTTLS or implicit TLS);
not set -> :class:`MaildirSink`, a Maildir folder a person (or a test) reads
with :func:`read_maildir` or any mail client.
"""
from __future__ import annotations

import base64
import email
import json
import mailbox
import re
import smtplib
import socket
import ssl
import threading
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from dataclasses import asdict, dataclass
from datetime import datetime
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol

from quoteflow.envelope import utcnow
from services.notifier.domain.model import clean_header, valid_email


class MailError(Exception):
    """Sending failed; ``transient`` says whether trying again later may work."""

    def __init__(self, message: str, transient: bool):
        super().__init__(message)
        self.transient = transient


class MailTransport(Protocol):
    def send(self, sender: str, recipient: str, message: bytes) -> None: ...


def _address(name: str, addr: str) -> Address:
    if not valid_email(addr):
        raise ValueError(f"not an email address: {addr[:80]!r}")
    return Address(display_name=clean_header(name, 120), addr_spec=addr)


def sender_address(mail_from: str) -> tuple[str, str]:
    """'Quoteflow <devis@x>' -> ('Quoteflow', 'devis@x')."""
    name, addr = parseaddr(clean_header(mail_from))
    if not valid_email(addr):
        raise ValueError(f"MAIL_FROM is not an address: {mail_from!r}")
    return name, addr


def compose_email(*, mail_from: str, to_name: str, to_email: str, subject: str, text: str, html: str,
                  reply_to: tuple[str, str] | None = None,
                  attachment: tuple[str, bytes] | None = None, date: datetime | None = None,
                  message_key: str = "") -> EmailMessage:
    """A multipart (text + HTML, plus an optional PDF) message; header values cannot carry CR/LF.

    ``message_key`` (a delivery id) makes the Message-ID stable, so a retried message is the same one.
    """
    from_name, from_addr = sender_address(mail_from)
    domain = from_addr.rpartition("@")[2]
    message = EmailMessage(policy=policy.default)
    message["From"] = _address(from_name, from_addr)
    message["To"] = _address(to_name, to_email)
    if reply_to and valid_email(reply_to[1]):
        message["Reply-To"] = _address(*reply_to)
    message["Subject"] = clean_header(subject, 250)
    message["Date"] = format_datetime(date or utcnow())
    message["Message-ID"] = f"<{message_key}@{domain}>" if message_key else make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    if attachment is not None:
        filename, data = attachment
        message.add_attachment(data, maintype="application", subtype="pdf",
                               filename=clean_header(filename, 120).replace('"', ""))
    return message


class AttachmentMissing(LookupError):
    """A draft's attachment is not in the blob store."""


@dataclass(frozen=True)
class EmailDraft:
    """What an email says, stored when it is queued; the MIME message is built from it when it is sent.

    The attachment is a reference (file name, SHA-256 of the blob), not its bytes: queuing stays a
    small insert, and the PDF is read and encoded by the dispatcher.
    """

    mail_from: str
    to_name: str
    subject: str
    text: str
    html: str
    reply_to: tuple[str, str] | None = None
    attachment: tuple[str, str] | None = None  # (file name, blob SHA-256)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> "EmailDraft":
        doc = json.loads(data.decode("utf-8"))
        reply_to, attachment = doc.pop("reply_to", None), doc.pop("attachment", None)
        return cls(**doc, reply_to=tuple(reply_to) if reply_to else None,
                   attachment=tuple(attachment) if attachment else None)

    def message(self, to_email: str, blobs, *, date: datetime | None = None, message_key: str = "") -> bytes:
        """The RFC 5322 bytes, the attachment read from ``blobs`` (raises AttachmentMissing)."""
        attachment = None
        if self.attachment is not None:
            filename, sha256 = self.attachment
            try:
                attachment = (filename, blobs.get(sha256))
            except KeyError:
                raise AttachmentMissing(f"pièce jointe {filename} introuvable (blob {sha256[:12]}…)") from None
        return bytes(compose_email(mail_from=self.mail_from, to_name=self.to_name, to_email=to_email,
                                   subject=self.subject, text=self.text, html=self.html, reply_to=self.reply_to,
                                   attachment=attachment, date=date, message_key=message_key))


def parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)


_TRANSIENT_ERRORS = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, socket.timeout,
                     ConnectionError, TimeoutError)


class SmtpTransport:
    """Sends through an SMTP server, keeping one session open between messages.

    Connecting costs a TCP handshake, the banner, EHLO (and STARTTLS / AUTH) for every
    message; a kept session costs one NOOP, which also proves it is still open before a
    message goes on it (a server drops idle sessions): a failed NOOP opens a fresh session,
    so a message is never sent twice because of a stale one. A lock serialises senders.
    """

    def __init__(self, host: str, port: int, *, tls: str = "none", user: str = "", password: str = "",
                 timeout: float = 20.0, ca_file: str = ""):
        self.host, self.port, self.tls = host, port, tls
        self.user, self.password, self.timeout = user, password, timeout
        self.ca_file = ca_file
        self._client: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def _tls_context(self) -> ssl.SSLContext:
        """Verifies the server's certificate and name, against ``ca_file`` when given (else the system's)."""
        return ssl.create_default_context(cafile=self.ca_file or None)

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls_context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.tls == "starttls":
                client.starttls(context=self._tls_context())
            if self.user:
                self._login(client)
        except BaseException:
            client.close()
            raise
        return client

    def _session(self) -> smtplib.SMTP:
        """The open session if it still answers, else a new one."""
        if self._client is not None:
            try:
                if self._client.noop()[0] == 250:
                    return self._client
            except (smtplib.SMTPException, OSError):
                pass
            self.close()
        self._client = self._connect()
        return self._client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        with self._lock:
            try:
                self._session().sendmail(sender, [recipient], _crlf(message))
            except smtplib.SMTPRecipientsRefused as exc:
                self._reset()
                codes = [code for code, _ in exc.recipients.values()]
                raise MailError(f"recipient refused: {exc.recipients}",
                                all(400 <= c < 500 for c in codes)) from None
            except smtplib.SMTPResponseException as exc:
                self._drop() if exc.smtp_code == 421 else self._reset()  # 421: the server closes the session
                text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) \
                    else str(exc.smtp_error)
                raise MailError(f"SMTP {exc.smtp_code}: {text}", 400 <= exc.smtp_code < 500) from None
            except _TRANSIENT_ERRORS as exc:
                self._drop()
                raise MailError(f"{type(exc).__name__}: {exc}", True) from None
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                raise MailError(f"{type(exc).__name__}: {exc}", isinstance(exc, OSError)) from None

    def _reset(self) -> None:
        """After a refusal the session may be mid-transaction: RSET it, or drop it."""
        try:
            if self._client is not None:
                self._client.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _login(self, client: smtplib.SMTP) -> None:
        """smtplib encodes credentials as ASCII; a non-ASCII password goes as UTF-8 AUTH PLAIN (RFC 4616)."""
        if (self.user + self.password).isascii():
            client.login(self.user, self.password)
            return
        client.ehlo_or_helo_if_needed()
        if "plain" not in client.esmtp_features.get("auth", "").lower().split():
            raise smtplib.SMTPNotSupportedError("the server offers no AUTH PLAIN for a non-ASCII password")
        token = base64.b64encode(b"\0" + self.user.encode() + b"\0" + self.password.encode()).decode()
        code, reply = client.docmd("AUTH", "PLAIN " + token)
        if code != 235:
            raise smtplib.SMTPAuthenticationError(code, reply)


def _crlf(message: bytes) -> bytes:
    """SMTP wants CRLF line ends; smtplib leaves bytes as they are."""
    return re.sub(rb"\r?\n", b"\r\n", message)


class MaildirSink:
    """Writes each message into a Maildir folder (the embedded mode's outbox for people to read)."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self._lock = threading.Lock()

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        envelope = f"Return-Path: <{sender}>\r\nDelivered-To: {clean_header(recipient)}\r\n".encode()
        with self._lock:
            box = mailbox.Maildir(self.folder, factory=None, create=True)
            box.add(envelope + message)


def read_maildir(folder: Path | str) -> list[EmailMessage]:
    """Every message in the Maildir at ``folder``, newest first (empty if it does not exist)."""
    folder = Path(folder)
    if not (folder / "cur").exists() and not (folder / "new").exists():
        return []
    box = mailbox.Maildir(folder, factory=None, create=False)
    stamped = []
    for key in box.keys():
        path = folder / box._lookup(key)  # noqa: SLF001 - Maildir offers no public path accessor
        stamped.append((path.stat().st_mtime_ns, key, parse(box.get_bytes(key))))
    stamped.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [message for _, _, message in stamped]


def build_transport(cfg) -> MailTransport:
    if cfg.smtp_host:
        return SmtpTransport(cfg.smtp_host, cfg.smtp_port, tls=cfg.smtp_tls, user=cfg.smtp_user,
                             password=cfg.smtp_password, timeout=cfg.smtp_timeout, ca_file=cfg.smtp_ca_file)
    return MaildirSink(cfg.mail_sink_dir)
