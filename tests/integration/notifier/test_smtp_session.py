"""SmtpTransport keeps one SMTP session between messages and replaces it when the server dropped it."""
import socket

from aiosmtpd.controller import Controller

from services.notifier.adapters.mail import MailError, SmtpTransport


class Sessions:
    """Counts the sessions (EHLO/HELO) and keeps what each message's DATA carried."""

    def __init__(self, busy: int = 0):
        self.greetings, self.messages, self.busy = 0, [], busy

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        if self.busy:
            self.busy -= 1
            return "451 4.3.0 mailbox busy, try later"
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 Message accepted for delivery"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _message(n: int) -> bytes:
    return f"Subject: message {n}\nFrom: devis@example.fr\nTo: a@example.fr\n\ncorps {n}\n".encode()


def test_messages_share_one_session_and_a_dropped_one_is_replaced_without_a_double_send():
    port = _port()
    handler = Sessions(busy=1)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    transport = SmtpTransport("127.0.0.1", port, timeout=5)
    try:
        try:
            transport.send("devis@example.fr", "a@example.fr", _message(0))
            raise AssertionError("a 451 must raise")
        except MailError as error:
            assert error.transient and "451" in str(error)
        for n in range(1, 4):
            transport.send("devis@example.fr", "a@example.fr", _message(n))
        assert handler.greetings == 1 and len(handler.messages) == 3  # the refusal kept the session usable
        controller.stop()  # the server goes away, then comes back: the kept session is dead
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        transport.send("devis@example.fr", "b@example.fr", _message(4))
        assert handler.greetings == 2
        assert [rcpt for rcpt, _ in handler.messages] == [["a@example.fr"]] * 3 + [["b@example.fr"]]
        assert [content.count(b"corps") for _, content in handler.messages] == [1, 1, 1, 1]
    finally:
        transport.close()
        controller.stop()
