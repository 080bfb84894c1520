"""The API's `/metrics`: what one scrape costs the store, and which series it shows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from labelwise.api.app import create_app
from labelwise.api.deps import AppState
from labelwise.store.db import make_engine
from labelwise.store.migrate import upgrade
from tests.conftest import make_settings

TOKEN = {"Authorization": "Bearer scrape-me"}


TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"})


class Statements:
    """The queries the app's engine runs, as (statement, parameters); SQLite's explicit BEGIN
    and the like are not queries."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.split(maxsplit=1)[0].upper() not in TRANSACTION_CONTROL:
            self.seen.append((statement, parameters))


def scraper(database_url: str, queue_name: str) -> Iterator[tuple[TestClient, Statements]]:
    app = create_app(make_settings(database_url, queue_name, metrics_token="scrape-me"))
    state: AppState = app.state.labelwise
    statements = Statements()
    event.listen(state.engine, "before_cursor_execute", statements)
    with TestClient(app) as client:
        yield client, statements
    event.remove(state.engine, "before_cursor_execute", statements)


@pytest.fixture
def scraping(database_url: str, queue_name: str) -> Iterator[tuple[TestClient, Statements]]:
    yield from scraper(database_url, queue_name)


@pytest.fixture
def scraping_sqlite(tmp_path: Path, queue_name: str) -> Iterator[tuple[TestClient, Statements]]:
    url = f"sqlite:///{tmp_path / 'labelwise.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield from scraper(url, queue_name)


def scrape(client: TestClient) -> str:
    response = client.get("/metrics", headers=TOKEN)
    assert response.status_code == 200, response.text
    return response.text


def test_a_scrape_reads_the_store_once_then_from_the_cache(
    scraping: tuple[TestClient, Statements],
) -> None:
    client, statements = scraping
    assert 'labelwise_items{status="pending"} 0' in scrape(client)
    assert len(statements.seen) == 1
    assert "count" in statements.seen[0][0].lower()
    # Scrapes within the cache's time read nothing from the store.
    for _ in range(3):
        scrape(client)
    assert len(statements.seen) == 1
    # Once it has passed, one statement again.
    state: AppState = client.app.state.labelwise  # type: ignore[attr-defined]
    state.outstanding.ttl_seconds = 0.0
    scrape(client)
    assert len(statements.seen) == 2


# SQLite's plan for a lookup of some statuses in the index, not a pass over all of it.
SEARCH_BY_STATUS = "SEARCH items USING COVERING INDEX ix_items_status_lease (status=?)"


def plan(client: TestClient, statement: str, parameters: Any = ()) -> str:
    state: AppState = client.app.state.labelwise  # type: ignore[attr-defined]
    with state.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return " | ".join(row[-1] for row in rows)


def test_the_count_reads_only_the_index_entries_of_outstanding_items(
    scraping_sqlite: tuple[TestClient, Statements],
) -> None:
    """However many items are done, a scrape reads only the index entries of those pending or
    in review: no pass over the table, nor over the whole index."""
    client, statements = scraping_sqlite
    scrape(client)
    [(statement, parameters)] = statements.seen
    assert plan(client, statement, parameters) == SEARCH_BY_STATUS


def test_a_count_of_every_status_would_pass_over_the_whole_index(
    scraping_sqlite: tuple[TestClient, Statements],
) -> None:
    """The check above can fail: counting items by every status reads every index entry."""
    client, _ = scraping_sqlite
    every_status = "SELECT status, count(*) FROM items GROUP BY status"
    assert plan(client, every_status).startswith("SCAN items")


def test_the_api_shows_the_labeling_series_and_not_the_workers_own(
    scraping: tuple[TestClient, Statements],
) -> None:
    client, _ = scraping
    families = {family.name for family in text_string_to_metric_families(scrape(client))}
    assert {
        "labelwise_http_requests",
        "labelwise_items",
        "labelwise_queue_depth",
        "labelwise_llm_calls",
        "labelwise_llm_tokens",
        "labelwise_llm_cost_usd",
        "labelwise_items_labeled",
    } <= families
    assert not {f for f in families if f.startswith(("labelwise_chunk", "labelwise_reconciler"))}
