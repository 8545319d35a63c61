"""``quoteflow``: operator commands (API keys, the embedded mail sink, dead letters, the outbox)."""
from __future__ import annotations

import argparse
import json
import mailbox
import os
import re
import sys
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser
from pathlib import Path

from quoteflow.auth import hash_key, new_key
from quoteflow.config import CommonConfig, var_dir


def _mail_dir(args) -> Path:
    return Path(args.dir or os.environ.get("MAIL_SINK_DIR") or var_dir() / "mail")


_DELIVERY_NAME = re.compile(r"^(\d+)(?:\.M(\d+))?(?:P\d+)?(?:Q(\d+))?")


def _delivery_order(key: str) -> tuple:
    """Where a Maildir file name puts its message among the deliveries: Python's Maildir names it
    <seconds>.M<microseconds>P<pid>Q<count>.<host>; the numbers are compared as numbers ("M5" before "M40")."""
    found = _DELIVERY_NAME.match(key)
    if not found:
        return (float("inf"), 0, 0, key)
    seconds, micros, count = (int(group or 0) for group in found.groups())
    return (seconds, micros, count, key)


def _sent_at(message) -> float:
    try:
        return message["Date"].datetime.timestamp() if message["Date"] else 0.0
    except (AttributeError, TypeError, ValueError):
        return 0.0


def _messages(folder: Path):
    """(key, message) oldest first: by the Date header (to the second), then in delivery order."""
    if not folder.exists():
        return []
    parser = BytesParser(policy=policy.default)
    box = mailbox.Maildir(folder, factory=None, create=False)
    items = [(key, parser.parsebytes(box.get_bytes(key))) for key in box.keys()]
    items.sort(key=lambda item: (_sent_at(item[1]), _delivery_order(item[0])))
    return items


def cmd_apikey_new(args) -> int:
    key = new_key()
    print(f"API key for tenant {args.tenant} (shown once, give it to the CRM):\n  {key}")
    print(f"Add this entry to QUOTEFLOW_API_KEYS of every gRPC service:\n  {args.tenant}:{hash_key(key)}")
    return 0


def _key_issuer(args):
    """The key store of the quotes database (kernel tables only: the CLI imports no service)."""
    from sqlalchemy import MetaData, inspect

    from quoteflow.apikeys import KeyIssuer, add_api_keys_table
    from quoteflow.db import add_kernel_tables, make_engine

    url = _database_url("quotes", args.database_url)
    engine = make_engine(url)
    if "api_keys" not in inspect(engine).get_table_names():
        engine.dispose()
        raise SystemExit(f"the quotes database ({url}) has no api_keys table: "
                         "run `python -m services.quotes migrate` (or start quotes) first")
    metadata = MetaData()
    outbox, inbox = add_kernel_tables(metadata)
    return KeyIssuer(engine, add_api_keys_table(metadata), outbox, inbox)


def _domain_error(error) -> int:
    print(f"error: {error}", file=sys.stderr)
    return 1


def cmd_apikey_create(args) -> int:
    from quoteflow.errors import DomainError

    try:
        key, raw = _key_issuer(args).create(args.tenant, args.label)
    except DomainError as error:
        return _domain_error(error)
    print(f"API key {key.key_id} for tenant {key.tenant} (shown once, never stored: give it to the CRM now):\n"
          f"  {raw}\nRevoke it with: quoteflow apikey revoke {key.key_id}")
    return 0


def cmd_apikey_revoke(args) -> int:
    from quoteflow.errors import DomainError

    try:
        key = _key_issuer(args).revoke(args.key_id)
    except DomainError as error:
        return _domain_error(error)
    print(f"API key {key.key_id} of tenant {key.tenant} revoked: refused by quotes from now on, "
          "by signature and notifier once they have the apikey.revoked event (seconds)")
    return 0


def cmd_apikey_list(args) -> int:
    keys = _key_issuer(args).list(args.tenant or "")
    if not keys:
        print("no API keys" + (f" for tenant {args.tenant}" if args.tenant else "")
              + " in the quotes database (static QUOTEFLOW_API_KEYS entries are not listed)")
    for key in keys:
        state = f"revoked {_when(key.revoked_at.timestamp())}" if key.revoked_at else "active"
        print(f"{key.key_id}  {key.prefix}…  {key.tenant:<20} created {_when(key.created_at.timestamp())}  "
              f"{state:<28} {key.label}")
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


# --- dead letters ------------------------------------------------------------------------------

SERVICES = ("quotes", "portal", "signature", "notifier")


def _broker_url(args) -> str:
    return args.broker_url or CommonConfig.from_env(args.service).broker_url


def _dead_letters(args):
    from quoteflow.bus import DeadLetterQueue

    return DeadLetterQueue(_broker_url(args), args.service)


def _when(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def cmd_dlq_list(args) -> int:
    letters = _dead_letters(args).list()
    if not letters:
        print(f"no dead letters for {args.service}")
        return 0
    print(f"{len(letters)} dead letter(s) for {args.service}:")
    for letter in letters:
        print(f"  {letter.message_id}  {letter.type or '?':<26} attempts {letter.attempts}  "
              f"dead {_when(letter.dead_at)}  {letter.reason[:100]}")
    return 0


def cmd_dlq_show(args) -> int:
    letters = _dead_letters(args).find([args.id])
    if len(letters) != 1:
        print(f"{len(letters)} dead letters of {args.service} match {args.id!r}", file=sys.stderr)
        return 1
    letter = letters[0]
    print(f"id:        {letter.message_id}\ntype:      {letter.type}\nattempts:  {letter.attempts}\n"
          f"dead at:   {_when(letter.dead_at)}\nerror:     {letter.reason}")
    for name, value in sorted(letter.headers.items()):
        print(f"header     {name}: {value}")
    try:
        body = json.dumps(json.loads(letter.body), indent=2, ensure_ascii=False)
    except ValueError:
        body = letter.body
    print(f"\n{body}")
    return 0


def _ids(args) -> list[str] | None:
    if args.all == bool(args.ids):
        raise SystemExit("name the message id(s), or --all")
    return None if args.all else args.ids


def cmd_dlq_replay(args) -> int:
    ids = _ids(args)
    letters = _dead_letters(args).replay(ids)
    for letter in letters:
        print(f"replayed {letter.message_id} ({letter.type}) to the {args.service} queue")
    print(f"{len(letters)} message(s) replayed")
    return 0 if letters or ids is None else 1


def cmd_dlq_purge(args) -> int:
    ids = _ids(args)
    letters = _dead_letters(args).purge(ids)
    print(f"{len(letters)} dead letter(s) of {args.service} deleted")
    return 0 if letters or ids is None else 1


# --- outbox ------------------------------------------------------------------------------------


def _database_url(service: str, given: str) -> str:
    return given or CommonConfig.from_env(service).database_url


def cmd_outbox_status(args) -> int:
    from sqlalchemy import MetaData
    from sqlalchemy.exc import SQLAlchemyError

    from quoteflow.db import add_kernel_tables, make_engine
    from quoteflow.outbox import outbox_status

    services = [args.service] if args.service else list(SERVICES)
    if args.database_url and not args.service:
        services = ["(given)"]
    worst = 0
    for service in services:
        url = _database_url(service, args.database_url)
        if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
            print(f"{service:<10} no database at {url}")
            worst = max(worst, 1)
            continue
        engine = make_engine(url)
        outbox, _ = add_kernel_tables(MetaData())
        try:
            count, oldest, age = outbox_status(engine, outbox)
        except SQLAlchemyError as exc:
            print(f"{service:<10} cannot read the outbox: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            worst = max(worst, 1)
            continue
        finally:
            engine.dispose()
        late = args.max_age is not None and age is not None and age > args.max_age
        detail = f", oldest {oldest.isoformat(timespec='seconds')} ({age:.1f} s ago)" if oldest else ""
        print(f"{service:<10} unpublished {count}{detail}{'  LATE' if late else ''}")
        worst = max(worst, 2 if late else 0)
    return worst


def cmd_status(args) -> int:
    from quoteflow.status import main as status

    return status()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quoteflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    apikey = commands.add_parser("apikey", help="API keys bound to a tenant").add_subparsers(dest="action", required=True)
    new = apikey.add_parser("new", help="make a static bootstrap key for TENANT and print its QUOTEFLOW_API_KEYS entry")
    new.add_argument("tenant")
    new.set_defaults(func=cmd_apikey_new)
    create = apikey.add_parser("create", help="make a key for TENANT in the quotes database; prints it once")
    create.add_argument("tenant")
    create.add_argument("--label", default="", help="what the key is for (shown by list)")
    create.set_defaults(func=cmd_apikey_create)
    revoke = apikey.add_parser("revoke", help="revoke a key for good (quotes at once, the others within seconds)")
    revoke.add_argument("key_id", help="the key id printed by create and list (ak_…)")
    revoke.set_defaults(func=cmd_apikey_revoke)
    keys = apikey.add_parser("list", help="keys of the quotes database, no secrets")
    keys.add_argument("tenant", nargs="?", help="default: every tenant")
    keys.set_defaults(func=cmd_apikey_list)
    for sub in (create, revoke, keys):
        sub.add_argument("--database-url", default="",
                         help="the quotes database; default QUOTES_DATABASE_URL, DATABASE_URL or var/quotes.db")

    mail = commands.add_parser("mail", help="the embedded mail sink").add_subparsers(dest="action", required=True)
    listing = mail.add_parser("list", help="list messages, oldest first")
    listing.add_argument("--dir")
    listing.set_defaults(func=cmd_mail_list)
    show = mail.add_parser("show", help="show message N of the list")
    show.add_argument("number", type=int)
    show.add_argument("--dir")
    show.set_defaults(func=cmd_mail_show)

    dlq = commands.add_parser("dlq", help="a service's dead letters (RabbitMQ or the embedded bus)")
    dlq_actions = dlq.add_subparsers(dest="action", required=True)
    for action, func, text in (("list", cmd_dlq_list, "list dead letters, oldest first"),
                               ("show", cmd_dlq_show, "show one dead letter: error, headers, event"),
                               ("replay", cmd_dlq_replay, "send dead letters back to the service queue"),
                               ("purge", cmd_dlq_purge, "delete dead letters")):
        sub = dlq_actions.add_parser(action, help=text)
        sub.add_argument("service", choices=SERVICES)
        if action == "show":
            sub.add_argument("id", help="the event id (or its first 8+ characters)")
        if action in ("replay", "purge"):
            sub.add_argument("ids", nargs="*", metavar="ID", help="event ids (or their first 8+ characters)")
            sub.add_argument("--all", action="store_true", help="every dead letter of the service")
        sub.add_argument("--broker-url", default="", help="default: BROKER_URL")
        sub.set_defaults(func=func)

    outbox = commands.add_parser("outbox", help="events committed but not yet confirmed by the broker")
    outbox_actions = outbox.add_subparsers(dest="action", required=True)
    status = outbox_actions.add_parser("status", help="unpublished count and oldest age, per service")
    status.add_argument("service", nargs="?", choices=SERVICES, help="default: all four")
    status.add_argument("--database-url", default="",
                        help="default: the service's <SERVICE>_DATABASE_URL, DATABASE_URL or var/<service>.db")
    status.add_argument("--max-age", type=float, default=None,
                        help="exit 2 when the oldest unpublished event is older than this many seconds")
    status.set_defaults(func=cmd_outbox_status)

    overview = commands.add_parser(
        "status", help="each service's health, versions, outbox backlog and dead letters (exit 1 if one is down)",
        description=("Reads <SERVICE>_GRPC_TARGET, PORTAL_BASE_URL, <SERVICE>_DATABASE_URL and BROKER_URL; "
                     "the defaults are the embedded addresses and files under QUOTEFLOW_VAR."))
    overview.set_defaults(func=cmd_status)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
