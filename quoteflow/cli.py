"""``quoteflow``: operator commands (API keys, the embedded mail sink, the outbox)."""
from __future__ import annotations

import argparse
import mailbox
import os
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path

from quoteflow.auth import hash_key, new_key
from quoteflow.config import var_dir


def _mail_dir(args) -> Path:
    return Path(args.dir or os.environ.get("MAIL_SINK_DIR") or var_dir() / "mail")


def _messages(folder: Path):
    if not folder.exists():
        return []
    parser = BytesParser(policy=policy.default)
    box = mailbox.Maildir(folder, factory=None, create=False)
    items = [(key, parser.parsebytes(box.get_bytes(key))) for key in box.keys()]
    items.sort(key=lambda item: item[1]["Date"].datetime if item[1]["Date"] else 0)
    return items


def cmd_apikey_new(args) -> int:
    key = new_key()
    print(f"API key for tenant {args.tenant} (shown once, give it to the CRM):\n  {key}")
    print(f"Add this entry to QUOTEFLOW_API_KEYS of every gRPC service:\n  {args.tenant}:{hash_key(key)}")
    return 0


def cmd_mail_list(args) -> int:
    items = _messages(_mail_dir(args))
    if not items:
        print(f"no mail in {_mail_dir(args)}")
    for index, (_, message) in enumerate(items, 1):
        print(f"{index:>3}  {message['Date']}  to {message['To']}  {message['Subject']}")
    return 0


def cmd_mail_show(args) -> int:
    items = _messages(_mail_dir(args))
    if not 1 <= args.number <= len(items):
        print(f"no message number {args.number} ({len(items)} in {_mail_dir(args)})", file=sys.stderr)
        return 1
    message = items[args.number - 1][1]
    for header in ("From", "To", "Reply-To", "Date", "Subject", "Message-ID"):
        if message[header]:
            print(f"{header}: {message[header]}")
    print()
    body = message.get_body(preferencelist=("plain",))
    print(body.get_content() if body else "(no text part)")
    for part in message.iter_attachments():
        print(f"[attachment] {part.get_filename()} ({part.get_content_type()}, {len(part.get_content())} bytes)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quoteflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    apikey = commands.add_parser("apikey", help="API keys bound to a tenant").add_subparsers(dest="action", required=True)
    new = apikey.add_parser("new", help="make a key for TENANT and print its hashed entry")
    new.add_argument("tenant")
    new.set_defaults(func=cmd_apikey_new)

    mail = commands.add_parser("mail", help="the embedded mail sink").add_subparsers(dest="action", required=True)
    listing = mail.add_parser("list", help="list messages, oldest first")
    listing.add_argument("--dir")
    listing.set_defaults(func=cmd_mail_list)
    show = mail.add_parser("show", help="show message N of the list")
    show.add_argument("number", type=int)
    show.add_argument("--dir")
    show.set_defaults(func=cmd_mail_show)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
