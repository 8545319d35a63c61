"""A read-only connection on SQLite reads its WAL snapshot instead of queueing behind a writer."""
import time

from sqlalchemy import text

from quoteflow.db import READ_ONLY, make_engine


def test_read_only_connection_does_not_wait_for_the_writer(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/kernel.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (a INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    writer = engine.connect()
    writer.execute(text("INSERT INTO t VALUES (2)"))  # BEGIN IMMEDIATE: holds the write lock
    try:
        started = time.monotonic()
        with engine.connect().execution_options(**{READ_ONLY: True}) as reader:
            seen = reader.execute(text("SELECT count(*) FROM t")).scalar()
        waited = time.monotonic() - started
        assert seen == 1  # the committed snapshot, not the writer's open row
        assert waited < 5  # the busy timeout is 30 s: a write lock would have made it wait
    finally:
        writer.commit()
        writer.close()
    with engine.connect().execution_options(**{READ_ONLY: True}) as reader:
        assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 2
    engine.dispose()
