"""`quoteflow mail list` numbers messages oldest first; messages dated the same second (the Date header's
resolution) keep their delivery order, so `mail show N` shows the message listed as N."""
import mailbox
import re
from argparse import Namespace
from email.message import EmailMessage

from quoteflow import cli

SAME_SECOND = "Fri, 03 Apr 2026 14:05:00 +0200"


def deliver(folder, name: str, subject: str, date: str = SAME_SECOND) -> None:
    message = EmailMessage()
    message["To"], message["Subject"], message["Date"] = "jerome@vendeur.example", subject, date
    message.set_content("t")
    (folder / "new" / name).write_bytes(bytes(message))


def listed(folder, capsys) -> list[str]:
    assert cli.cmd_mail_list(Namespace(dir=str(folder))) == 0
    return [re.sub(r"^\s*\d+\s+.*?\s{2}to .*?\s{2}", "", line) for line in capsys.readouterr().out.splitlines()]


def test_messages_of_the_same_second_are_listed_in_delivery_order(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "mail"
    mailbox.Maildir(folder, create=True)
    # Python's Maildir names: <seconds>.M<microseconds>P<pid>Q<count>.<host>; "M40" sorts before "M5" as text.
    deliver(folder, "1775217900.M5P100Q1.host", "1 envoi du devis")
    deliver(folder, "1775217900.M40P100Q2.host", "2 consulté")
    deliver(folder, "1775217900.M900000P100Q3.host", "3 signé")
    deliver(folder, "1775217901.M1P100Q4.host", "4 copie signée")
    deliver(folder, "1775217899.M1P100Q1.host", "0 plus tôt", date="Fri, 03 Apr 2026 14:04:59 +0200")
    # The file system lists a folder in any order: here, newest name first.
    keys = mailbox.Maildir.keys
    monkeypatch.setattr(mailbox.Maildir, "keys", lambda self: sorted(keys(self), reverse=True))
    assert listed(folder, capsys) == ["0 plus tôt", "1 envoi du devis", "2 consulté", "3 signé", "4 copie signée"]
    assert cli.cmd_mail_show(Namespace(dir=str(folder), number=4)) == 0
    assert "Subject: 3 signé" in capsys.readouterr().out


def test_the_sink_names_give_the_order_it_delivered_in(tmp_path, capsys):
    from services.notifier.adapters.mail import MaildirSink

    sink = MaildirSink(tmp_path / "mail")
    for number in range(1, 13):
        message = EmailMessage()
        message["To"], message["Subject"], message["Date"] = "j@v.example", f"message {number}", SAME_SECOND
        message.set_content("t")
        sink.send("devis@quoteflow.localhost", "j@v.example", bytes(message))
    assert listed(tmp_path / "mail", capsys) == [f"message {n}" for n in range(1, 13)]
