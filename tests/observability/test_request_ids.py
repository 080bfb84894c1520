"""Request ids: taken from the client or made, echoed in the answer, carried by the log lines
written while the request runs; and one item followed from its POST to its label's write."""

from __future__ import annotations

from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient

from labelwise.labeling.worker import run_worker
from labelwise.observability.request_ids import request_id_of
from labelwise.settings import Settings
from tests.conftest import Keys
from tests.labeling.conftest import fake_llm_answer
from tests.llm.fakes import BASE_URL
from tests.observability.capture import json_lines

BATCHES_ROUTE = "/v1/projects/{project_id}/batches"


UUID = "0f8e2a6c-1b7d-4c1e-9a0b-3c2d1e0f9a8b"


@pytest.mark.parametrize(
    ("headers", "kept"),
    [
        ([(b"x-request-id", b"req-123")], "req-123"),
        ([(b"X-Request-ID", UUID.encode())], UUID),
        ([(b"x-request-id", b"two words")], None),
        ([(b"x-request-id", b'forged"}\n{"level":"ERROR')], None),
        ([(b"x-request-id", b"x" * 129)], None),
        ([(b"x-request-id", b"")], None),
        ([], None),
    ],
)
def test_a_sane_client_id_is_kept_anything_else_replaced(
    headers: list[tuple[bytes, bytes]], kept: str | None
) -> None:
    request_id = request_id_of(headers)
    if kept is None:
        assert len(request_id) == 32 and request_id != request_id_of(headers)  # a new one each
    else:
        assert request_id == kept


def test_the_answer_echoes_the_id_and_the_access_line_carries_it(client: TestClient) -> None:
    with json_lines("labelwise.api.access") as captured:
        given = client.get("/healthz", headers={"X-Request-ID": "probe-1"})
        made = client.get("/v1/projects")  # no key: 401, answered all the same
    assert given.headers["x-request-id"] == "probe-1"
    assert made.status_code == 401 and len(made.headers["x-request-id"]) == 32
    lines = {line["request_id"]: line for line in captured.lines}
    assert lines["probe-1"]["route"] == "/healthz" and lines["probe-1"]["level"] == "DEBUG"
    refused = lines[made.headers["x-request-id"]]
    assert (refused["route"], refused["status"], refused["level"]) == ("/v1/projects", 401, "INFO")


@pytest.fixture
def llm_api() -> Any:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        router.post("/chat/completions").mock(side_effect=fake_llm_answer)
        yield router


def test_an_item_can_be_followed_from_its_post_to_its_label(
    client: TestClient,
    keys: Keys,
    project: dict[str, Any],
    settings: Settings,
    llm_api: respx.MockRouter,
) -> None:
    items = [
        {"external_id": "a", "data": {"text": "good"}},
        {"external_id": "b", "data": {"text": "unsure"}},
    ]
    with json_lines("labelwise") as captured:
        posted = client.post(
            f"/v1/projects/{project['id']}/batches",
            json={"items": items},
            headers={**keys.auth("submitter"), "X-Request-ID": "post-7"},
        )
        run_worker(settings, burst=True)
    assert posted.status_code == 202 and posted.headers["x-request-id"] == "post-7"
    post_lines = [line for line in captured.lines if line.get("request_id") == "post-7"]
    [batch_line] = [line for line in post_lines if line["message"] == "batch posted"]
    [post_line] = [line for line in post_lines if line is not batch_line]
    assert (post_line["route"], post_line["status"]) == (BATCHES_ROUTE, 202)
    assert (batch_line["batch_id"], batch_line["items"]) == (posted.json()["id"], 2)
    page = client.get(f"/v1/batches/{posted.json()['id']}/items", headers=keys.auth("submitter"))
    ids = {item["external_id"]: str(item["id"]) for item in page.json()["items"]}
    written: dict[str, str] = {}
    for line in captured.with_message("labels written"):
        written |= line["labels"]
    assert written == {ids["a"]: "accepted", ids["b"]: "review:low_confidence"}
