"""The embedded (folder) transport: crash-safe claims, order kept, routing table never torn."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from quoteflow import topology
from quoteflow.bus import EventConsumer, Publisher, connect, declare_topology
from tests.integration.kernel.support import start, viewed, wait_for

ROOT = Path(__file__).resolve().parents[3]


def run_python(code: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_messages_taken_by_a_process_killed_before_its_ack_are_delivered_again_in_order(tmp_path):
    url = f"filesystem://{tmp_path / 'bus'}"
    events = [viewed(i) for i in range(5)]
    publisher = Publisher(url)
    for event in events:
        publisher.publish(event.type, event.to_json(), event.id)
    publisher.close()
    died = run_python(f"""
        import os, signal
        from quoteflow import topology
        from quoteflow.bus import connect
        with connect({url!r}) as connection:
            queue = topology.service_queue("quotes", quorum=False)(connection.channel())
            first, second = queue.get(no_ack=False), queue.get(no_ack=False)
            print(first.headers, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)  # taken, never acked
    """)
    assert died.returncode == -9, died.stderr
    claims = list((tmp_path / "bus" / "processed" / "claims").rglob("*.msg"))
    assert len(claims) == 2  # the dead process's claims wait on disk

    received = []
    consumer = EventConsumer(url, "quotes", lambda e: received.append(e.id))
    thread = start(consumer)
    assert wait_for(lambda: len(received) == 5, timeout=10), received
    consumer.stop()
    thread.join(5)
    assert received == [e.id for e in events]  # back in their places
    assert not list((tmp_path / "bus" / "processed" / "claims").rglob("*.msg"))


def test_an_unacked_message_goes_back_to_its_place_when_the_channel_closes(tmp_path):
    url = f"filesystem://{tmp_path / 'bus'}"
    events = [viewed(i) for i in range(3)]
    publisher = Publisher(url)
    for event in events:
        publisher.publish(event.type, event.to_json(), event.id)
    publisher.close()
    with connect(url) as connection:
        channel = connection.channel()
        taken = topology.service_queue("quotes", quorum=False)(channel).get(no_ack=False)
        assert json.loads(taken.body)["id"] == events[0].id
        channel.close()
        queue = topology.service_queue("quotes", quorum=False)(connection.channel())
        again = [json.loads(queue.get(no_ack=True).body)["id"] for _ in range(3)]
    assert again == [e.id for e in events]


def test_processes_declaring_the_topology_at_once_never_tear_the_routing_table(tmp_path):
    url = f"filesystem://{tmp_path / 'bus'}"
    code = f"""
        from quoteflow.bus import connect, declare_topology
        for _ in range(20):
            with connect({url!r}) as connection:
                declare_topology(connection, {url!r})
    """
    processes = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=60)[1] for p in processes]
    assert all(p.returncode == 0 for p in processes), errors
    table = json.loads((tmp_path / "bus" / "control" / "quoteflow.events.exchange").read_text())
    bound = {(key, queue) for key, _, queue in table}
    expected = {(key, topology.queue_name(s)) for s, keys in topology.SUBSCRIPTIONS.items() for key in keys}
    assert bound == expected


def test_a_retry_is_not_delivered_before_its_not_before_time(tmp_path):
    url = f"filesystem://{tmp_path / 'bus'}"
    event = viewed(1)
    publisher = Publisher(url)
    due = time.time() + 0.5
    publisher.publish_raw(topology.queue_name("quotes"), event.to_json(), {"x-quoteflow-not-before": due}, event.id)
    publisher.close()
    with connect(url) as connection:
        declare_topology(connection, url)
        queue = topology.service_queue("quotes", quorum=False)(connection.channel())
        assert queue.get(no_ack=True) is None
        message = None
        while message is None:
            message = queue.get(no_ack=True)
            time.sleep(0.01)
    assert time.time() >= due
    assert json.loads(message.body)["id"] == event.id
