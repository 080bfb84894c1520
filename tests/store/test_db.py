"""SQLite transactions: writers queue for the lock up front; readers never wait for a writer."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select

from labelwise.store.db import make_engine, read_only
from labelwise.store.migrate import upgrade
from labelwise.store.models import ApiKey


def test_reads_do_not_wait_for_a_writer_but_writers_do(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    upgrade(engine)
    done: dict[str, object] = {}

    def read() -> None:
        with read_only(engine).begin() as connection:
            done["read"] = connection.execute(select(func.count()).select_from(ApiKey)).scalar()

    def write() -> None:
        with engine.begin() as connection:
            done["write"] = connection.execute(select(func.count()).select_from(ApiKey)).scalar()

    with engine.begin():  # a writer holds the lock
        reader = threading.Thread(target=read)
        writer = threading.Thread(target=write)
        reader.start()
        writer.start()
        reader.join(timeout=2)
        writer.join(timeout=0.5)
        assert done == {"read": 0}  # the reader finished; the writer waits its turn
    writer.join(timeout=5)
    assert done == {"read": 0, "write": 0}
    engine.dispose()
