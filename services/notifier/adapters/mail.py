"""Email: composing a safe MIME message, and the transports that send it.

``SMTP_HOST`` set -> :class:`SmtpTransport` (plain, STARTTLS or implicit TLS);
not set -> :class:`MaildirSink`, a Maildir folder a person (or a test) reads
with :func:`read_maildir` or any mail client.
"""
from __future__ import annotations

import base64
import email
import io
import json
import logging
import mailbox
import re
import secrets
import smtplib
import socket
import ssl
import threading
from email import policy
from email.generator import NLCRE, BytesGenerator
from email.charset import Charset
from email.header import Header
from email.headerregistry import Address
from email.policy import EmailPolicy
from email.message import EmailMessage
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from email.utils import format_datetime, make_msgid, parseaddr
from html import escape
from pathlib import Path
from typing import Protocol, Sequence

from quoteflow import links
from quoteflow.addresses import ascii_email
from quoteflow.envelope import utcnow
from services.notifier.domain.model import clean_header, valid_email


log = logging.getLogger(__name__)


class MailError(Exception):
    """Sending failed; ``transient`` says whether trying again later may work."""

    def __init__(self, message: str, transient: bool):
        super().__init__(message)
        self.transient = transient


class MailTransport(Protocol):
    def send(self, sender: str, recipient: str, message: bytes) -> None: ...


_WIDTH = 78  # RFC 5322's line length
_WORDS = 76  # what email.header fills a line with: encoded words of at most 75 characters (RFC 2047)
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+\-/^_`{|}~]+")  # RFC 5322 atext but = and ? (nothing like =?…?=)
_UTF8 = Charset("utf-8")
_BLANKS = re.compile(r"[ \t]\s*")
_TEXT_HEADERS = frozenset(("subject",))
_ADDRESS_HEADERS = frozenset(("from", "to", "cc", "reply-to", "sender"))


class _Written(str):
    """A header's text as the program set it: encoded when written, never decoded (``=?…?=`` in it is text)."""


def _plain(text: str) -> bool:
    """Whether a header may carry ``text`` as it is: printable ASCII, nothing a reader takes for an encoded word."""
    return text.isascii() and text.isprintable() and "=?" not in text


def _encoded(name: str, text: str) -> str:
    """``text`` as RFC 2047 encoded words folded between them (a space inside a word, where it is kept)."""
    return Header(text, "utf-8", maxlinelen=_WORDS, header_name=name).encode(linesep="\n")


def _folded_text(name: str, text: str) -> str:
    if _plain(text) and len(name) + 2 + len(text) <= _WIDTH:
        return text
    return _encoded(name, text)


def _folded(name: str, pieces: list[str]) -> str:
    """``pieces`` joined by spaces, a line broken before a piece that would pass the line length."""
    out, width = [], len(name) + 2
    for piece in pieces:
        if out and width + 1 + len(piece) > _WIDTH:
            out.append("\n " + piece)
            width = 1 + len(piece)
        else:
            out.append((" " if out else "") + piece)
            width += (1 if len(out) > 1 else 0) + len(piece)
    return "".join(out)


def _phrase(display: str) -> list[str]:
    """A display name as the words of an RFC 5322 phrase: each atom as it is, each run of other words (with
    the spaces between them) as ONE encoded word. Two encoded words are never neighbours, for readers
    disagree on the space between them: RFC 2047 drops it, Python's parser (3.11) keeps it. So a long run
    of accented words makes an encoded word past the 75 characters RFC 2047 asks for, which readers take."""
    pieces: list[str] = []
    run: list[str] = []
    for word in display.split(" "):
        if _ATOM.fullmatch(word):
            if run:
                pieces.append(_UTF8.header_encode(" ".join(run)))
                run = []
            pieces.append(word)
        else:
            run.append(word)
    if run:
        pieces.append(_UTF8.header_encode(" ".join(run)))
    return pieces


def _folded_address(name: str, address: Address) -> str:
    display, spec = address.display_name, address.addr_spec
    if not display:
        return spec
    if not _plain(display):
        phrase = _phrase(display)
    elif all(_ATOM.fullmatch(word) for word in display.split(" ")):
        phrase = [display]
    else:  # a quoted string keeps what atoms would not: specials, runs of spaces
        phrase = ['"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"']
    return _folded(name, phrase + [f"<{spec}>"])


class _MailPolicy(EmailPolicy):
    """``policy.default``, except for the headers people read: the subject is kept as the text it was set to,
    and it and the names in the address headers are folded by ``email.header``'s encoder. The library's own
    folder (3.11) drops a space where it splits a line between two encoded words (« Alice Client – Accepté »
    came back « Alice Client –Accepté »), and it reads a subject set to ``=?…?=`` as an encoded word."""

    def header_store_parse(self, name, value):
        stored = super().header_store_parse(name, value)  # refuses a value with line breaks
        return (name, _Written(value)) if isinstance(value, str) and name.lower() in _TEXT_HEADERS else stored

    def header_fetch_parse(self, name, value):
        if isinstance(value, _Written):
            return self.header_factory(name, _folded_text(name, value).replace("\n", ""))
        return super().header_fetch_parse(name, value)

    def _ours(self, name: str, value) -> str | None:
        if isinstance(value, _Written):
            text = _folded_text(name, value)
        elif hasattr(value, "addresses") and name.lower() in _ADDRESS_HEADERS:
            text = ",\n ".join(_folded_address(name, address) for address in value.addresses)
        else:
            return None  # a header with no free text, or a parsed message's, left as the library writes it
        return f"{name}: {text}".replace("\n", self.linesep) + self.linesep

    def fold(self, name, value):
        return self._ours(name, value) or super().fold(name, value)

    def fold_binary(self, name, value):
        ours = self._ours(name, value)
        return ours.encode("ascii") if ours is not None else super().fold_binary(name, value)


MAIL_POLICY = _MailPolicy()


def _address(name: str, addr: str) -> Address:
    if not valid_email(addr):
        raise ValueError(f"not an email address: {addr[:80]!r}")
    # A name is words: a space or a tab and the blanks after it are one space, as readers' parsers make them
    # (a no-break space after a letter stays: « Zoé » in French typography).
    display = _BLANKS.sub(" ", clean_header(name, 120))
    return Address(display_name=display, addr_spec=ascii_email(addr))  # IDNA domain in A-labels


def sender_address(mail_from: str) -> tuple[str, str]:
    """'Quoteflow <devis@x>' -> ('Quoteflow', 'devis@x')."""
    name, addr = parseaddr(clean_header(mail_from))
    if not valid_email(addr):
        raise ValueError(f"MAIL_FROM is not an address: {mail_from!r}")
    return name, addr


def compose_email(*, mail_from: str, to_name: str, to_email: str, subject: str, text: str, html: str,
                  reply_to: tuple[str, str] | None = None, attachments: Sequence[tuple[str, bytes, str]] = (),
                  date: datetime | None = None, message_key: str = "", from_name: str = "") -> EmailMessage:
    """A multipart (text + HTML, plus attachments: file name, bytes, content type) message; header values
    cannot carry CR/LF. ``from_name`` (the sending company) replaces MAIL_FROM's display name, never its address.

    ``message_key`` (a delivery id) makes the Message-ID stable, so a retried message is the same one.
    """
    default_name, from_addr = sender_address(mail_from)
    domain = from_addr.rpartition("@")[2]
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = _address(clean_header(from_name, 120) or default_name, from_addr)
    message["To"] = _address(to_name, to_email)
    if reply_to and valid_email(reply_to[1]):
        message["Reply-To"] = _address(*reply_to)
    message["Subject"] = clean_header(subject, 250)
    message["Date"] = format_datetime(date or utcnow())
    message["Message-ID"] = f"<{message_key}@{domain}>" if message_key else make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    for filename, data, content_type in attachments:
        maintype, _, subtype = (content_type or PDF).partition("/")
        message.add_attachment(b"", maintype=maintype, subtype=subtype or "octet-stream",
                               filename=clean_header(filename, 120).replace('"', ""))
        # The part's headers are the library's; its base64 is base64.encodebytes' (the same 76-character
        # lines, written by C: 0.3 ms instead of 5 for a 200 KB PDF).
        message.get_payload()[-1].set_payload(base64.encodebytes(data).decode("ascii"))
    for part in message.walk():
        # A random boundary: the generator otherwise picks one and searches the whole message for it.
        if part.is_multipart():
            part.set_boundary(f"=_{secrets.token_hex(16)}")
    return message


class _BlockGenerator(BytesGenerator):
    """``BytesGenerator`` writing each body in one piece: the standard one writes it line by line, 8,000
    writes for the 300 KB of a signature's proofs in base64. The same bytes (a test compares them)."""

    def _write_lines(self, lines: str) -> None:
        if lines:  # the line ends made the policy's, as Generator._write_lines does line by line
            self.write(NLCRE.sub(self._NL, lines) if "\r" in lines else lines.replace("\n", self._NL))


def flatten(message: EmailMessage) -> bytes:
    """``bytes(message)``, faster for a message with attachments (measured here: 2.3 ms instead of 10 for a
    confirmation carrying 210 KB of PDF proofs)."""
    out = io.BytesIO()
    _BlockGenerator(out, mangle_from_=False, policy=message.policy).flatten(message)
    return out.getvalue()


class AttachmentMissing(LookupError):
    """A draft's attachment is not in the blob store."""


PDF = "application/pdf"


@dataclass(frozen=True)
class EmailDraft:
    """What an email says, stored when it is queued; the MIME message is built from it when it is sent.

    Attachments are references (file name, SHA-256 of the blob, content type), not their bytes: queuing
    stays a small insert, and the files are read and encoded by the dispatcher. ``partial`` drafts (a
    notice that matters even without its files) may go, on their last try, without an attachment that
    is still missing, and then say so at the top of the message.
    """

    mail_from: str
    to_name: str
    subject: str
    text: str
    html: str
    reply_to: tuple[str, str] | None = None
    attachments: tuple[tuple[str, str, str], ...] = ()  # (file name, blob SHA-256, content type)
    from_name: str = ""
    partial: bool = False

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def without_links(self) -> "EmailDraft":
        """What is kept once the email is over: the same draft, each quote link's token replaced by its
        reference (quoteflow.links)."""
        return replace(self, subject=links.without_links(self.subject), text=links.without_links(self.text),
                       html=links.without_links(self.html))

    @classmethod
    def from_bytes(cls, data: bytes) -> "EmailDraft":
        doc = json.loads(data.decode("utf-8"))
        reply_to, attachments = doc.pop("reply_to", None), doc.pop("attachments", None) or []
        old = doc.pop("attachment", None)  # a draft queued before several attachments: (file name, SHA-256)
        if old:
            attachments = [[old[0], old[1], PDF]]
        return cls(**doc, reply_to=tuple(reply_to) if reply_to else None,
                   attachments=tuple(tuple(item) for item in attachments))

    def message(self, to_email: str, blobs, *, date: datetime | None = None, message_key: str = "",
                last_try: bool = False) -> bytes:
        """The RFC 5322 bytes, the attachments read from ``blobs``; raises AttachmentMissing while one is
        missing, unless this ``partial`` draft is on its ``last_try``."""
        found, missing = [], []
        for filename, sha256, content_type in self.attachments:
            try:
                found.append((filename, blobs.get(sha256), content_type))
            except KeyError:
                missing.append((filename, sha256))
        text, html = self.text, self.html
        if missing:
            if not (self.partial and last_try):
                raise AttachmentMissing("pièce jointe " + ", ".join(
                    f"{name} introuvable (blob {sha[:12]}…)" for name, sha in missing))
            log.warning("message %s goes on its last try without %s: not in the blob store", message_key,
                        ", ".join(name for name, _ in missing))
            text, html = _without(text, html, [name for name, _ in missing])
        try:
            return flatten(compose_email(mail_from=self.mail_from, to_name=self.to_name, to_email=to_email,
                                         subject=self.subject, text=text, html=html, reply_to=self.reply_to,
                                         attachments=found, date=date, message_key=message_key,
                                         from_name=self.from_name))
        except (ValueError, email.errors.MessageError) as exc:  # the same draft fails the same way again
            raise MailError(f"message impossible à construire : {type(exc).__name__}: {exc}"[:300],
                            transient=False) from None


_BODY_START = re.compile(r"<body[^>]*>\s*(?:<div[^>]*>)?", re.IGNORECASE)


def _without(text: str, html: str, names: list[str]) -> tuple[str, str]:
    """The bodies of a message sent without ``names``, saying so first (the body may list them as attached)."""
    if len(names) == 1:
        notice = (f"Attention : la pièce jointe {names[0]} était indisponible au moment de l'envoi et n'est pas "
                  "jointe à cet email. Elle reste disponible dans le bandeau du devis.")
    else:
        notice = (f"Attention : les pièces jointes {', '.join(names)} étaient indisponibles au moment de l'envoi "
                  "et ne sont pas jointes à cet email. Elles restent disponibles dans le bandeau du devis.")
    block = f'<p style="background:#fff4e5;border-left:4px solid #e67e00;padding:8px 12px;">{escape(notice)}</p>\n'
    start = _BODY_START.search(html)
    at = start.end() if start else 0
    return f"{notice}\n\n{text}", f"{html[:at]}\n{block}{html[at:]}"


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
        sender, recipient = _smtp_address(sender), _smtp_address(recipient)
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


def _smtp_address(addr: str) -> str:
    """An address for MAIL FROM / RCPT TO: its IDNA domain in A-labels (smtplib only speaks ASCII)."""
    try:
        return ascii_email(addr)
    except ValueError:
        return addr  # refused by the server, as it was before this rule


def _crlf(message: bytes) -> bytes:
    """SMTP wants CRLF line ends; smtplib leaves bytes as they are. Two ``bytes.replace`` instead of the
    regular expression ``\r?\n`` (the same result): 0.3 ms instead of 9 for a 300 KB confirmation."""
    return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


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
