"""Operator commands: `quoteflow dlq list|show|replay|purge` and `quoteflow outbox status`."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from quoteflow.bus import EventConsumer, Publisher
from quoteflow.cli import main
from tests.integration.kernel.support import EffectStore, start, viewed, wait_for

ROOT = Path(__file__).resolve().parents[3]


def cli(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_dead_letters_are_listed_shown_replayed_once_and_purged(broker_url, tmp_path, capsys):
    store = EffectStore(f"sqlite:///{tmp_path / 'quotes.db'}")
    broken = {"on": True}

    def handle(envelope):
        if broken["on"] and envelope.payload().quote_id != "q-ok":
            raise LookupError(f"template for {envelope.payload().quote_id} missing")
        store.handle(envelope)

    consumer = EventConsumer(broker_url, "quotes", handle, max_attempts=2, backoff=0.01)
    thread = start(consumer)
    first, second, fine = viewed(1, quote="q-one"), viewed(2, quote="q-two"), viewed(3, quote="q-ok")
    publisher = Publisher(broker_url)
    for event in (first, second, fine):
        publisher.publish(event.type, event.to_json(), event.id)
    assert wait_for(lambda: consumer.stats["dead_lettered"] == 2 and consumer.stats["handled"] == 1, timeout=15)

    code, out = cli(capsys, "dlq", "list", "quotes", "--broker-url", broker_url)
    assert code == 0 and "2 dead letter(s) for quotes" in out
    assert first.id in out and second.id in out and fine.id not in out
    assert "attempts 2" in out and "LookupError: template for q-one missing" in out

    code, out = cli(capsys, "dlq", "show", "quotes", first.id[:8], "--broker-url", broker_url)
    assert code == 0 and f"id:        {first.id}" in out and "portal.quote_viewed" in out
    assert "LookupError: template for q-one missing" in out and '"quote_id": "q-one"' in out

    broken["on"] = False  # the fix is deployed
    code, out = cli(capsys, "dlq", "replay", "quotes", first.id, "--broker-url", broker_url)
    assert code == 0 and "1 message(s) replayed" in out
    assert wait_for(lambda: first.id in store.effect_counts(), timeout=10)
    time.sleep(0.3)
    assert store.effect_counts()[first.id] == [1, 2]  # delivered once, whole

    code, out = cli(capsys, "dlq", "list", "quotes", "--broker-url", broker_url)
    assert "1 dead letter(s)" in out and second.id in out and first.id not in out

    code, out = cli(capsys, "dlq", "replay", "quotes", "no-such-id", "--broker-url", broker_url)
    assert code == 1 and "0 message(s) replayed" in out

    code, out = cli(capsys, "dlq", "purge", "quotes", "--all", "--broker-url", broker_url)
    assert code == 0 and "1 dead letter(s) of quotes deleted" in out
    code, out = cli(capsys, "dlq", "list", "quotes", "--broker-url", broker_url)
    assert "no dead letters for quotes" in out
    consumer.stop()
    thread.join(5)
    publisher.close()
    assert second.id not in store.effect_counts()


def test_outbox_status_counts_what_is_unpublished_and_its_age(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    store = EffectStore(url)
    with store.uow() as uow:
        uow.emit(viewed(1))
        uow.emit(viewed(2))
        uow.commit()
    time.sleep(0.2)
    code, out = cli(capsys, "outbox", "status", "portal", "--database-url", url)
    assert code == 0 and out.startswith("portal     unpublished 2, oldest ") and "s ago)" in out
    code, out = cli(capsys, "outbox", "status", "portal", "--database-url", url, "--max-age", "0.1")
    assert code == 2 and "LATE" in out

    monkeypatch.setenv("PORTAL_DATABASE_URL", url)  # the service's own environment
    monkeypatch.setenv("QUOTEFLOW_VAR", str(tmp_path / "empty-var"))
    code, out = cli(capsys, "outbox", "status")
    lines = dict(line.split(None, 1) for line in out.splitlines())
    assert lines["portal"].startswith("unpublished 2")
    assert lines["quotes"].startswith("no database at")
    assert code == 1


def test_the_console_script_answers(tmp_path):
    url = f"sqlite:///{tmp_path / 'signature.db'}"
    EffectStore(url)
    script = Path(sys.executable).with_name("quoteflow")
    done = subprocess.run([str(script), "outbox", "status", "signature", "--database-url", url],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "signature  unpublished 0"
