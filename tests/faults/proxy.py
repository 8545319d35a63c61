"""A TCP proxy on 127.0.0.1 that can cut every connection and refuse new ones for a while."""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import SimpleNamespace


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream``; ``cut()`` is a broker outage, ``restore()`` its end.

    While cut, the listening socket is closed (a client gets "connection refused") and every
    open connection is reset in both directions, as when a broker host goes away.
    """

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5672)):
        self.upstream = upstream
        self.port = 0
        self.connections = 0
        self._listener: socket.socket | None = None
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._lock = threading.Lock()
        self._up = False

    def __enter__(self) -> "TcpProxy":
        self.restore()
        return self

    def __exit__(self, *exc) -> None:
        self.cut()

    def url(self, vhost_url: str) -> str:
        """The same AMQP URL, through this proxy."""
        head, _, rest = vhost_url.partition("@")
        return f"{head}@127.0.0.1:{self.port}/{rest.split('/', 1)[1]}"

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
            self._up = True
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> int:
        """Drops every connection and refuses new ones; returns how many connections were cut."""
        with self._lock:
            self._up = False
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, set()
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        for pair in pairs:
            for sock in pair:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        return len(pairs)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if not self._up:
                    client.close()
                    server.close()
                    return
                pair = (client, server)
                self._pairs.add(pair)
                self.connections += 1
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target, pair), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, pair) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._pairs.discard(pair)
            for sock in pair:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


@contextlib.contextmanager
def relayed_through_proxy(rabbit_url: str, tmp_path):
    """A producer (outbox and relay) and a consumer (the notifier queue), each with its SQLite database,
    talking to RabbitMQ through a :class:`TcpProxy`; yields them running, stops them on the way out.

    SQLite: the broker is what fails in these tests, and PostgreSQL's fsync on this machine would only
    stretch the flow."""
    from quoteflow.bus import EventConsumer, Publisher
    from quoteflow.outbox import OutboxRelay
    from tests.integration.kernel.support import EffectStore, start

    producer = EffectStore(f"sqlite:///{tmp_path / 'producer.db'}")
    consumer_db = EffectStore(f"sqlite:///{tmp_path / 'consumer.db'}")
    with TcpProxy() as proxy:
        url = proxy.url(rabbit_url)  # producer and consumer both talk through the proxy
        relay = OutboxRelay(producer.engine, producer.outbox, Publisher(url), sweep_seconds=2.0)
        consumer = EventConsumer(url, "notifier", consumer_db.handle)
        threads = [start(relay), start(consumer)]
        time.sleep(0.5)
        try:
            yield SimpleNamespace(producer=producer, consumer_db=consumer_db, proxy=proxy, url=url, relay=relay,
                                  consumer=consumer)
            time.sleep(0.5)  # room for a late duplicate
        finally:
            for runner in (relay, consumer):
                runner.stop()
            for thread in threads:
                thread.join(10)
