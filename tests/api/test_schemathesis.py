"""The whole HTTP API fuzzed from its own OpenAPI document, the way an outside attacker runs
schemathesis: every phase (coverage of boundary values, fuzzing with valid and invalid data,
stateful sequences), 25 examples an operation, on both stores. No operation may answer 5xx or let
an exception escape, and every answer must match the schema documented for it.

Every operation is exercised, the key routes included: a fuzzed revoke or rotate may take away
the key the run uses, so its key is fetched again whenever an answer is 401.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.engine import Status, from_schema
from schemathesis.engine.events import FatalError, NonFatalError, ScenarioFinished
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from labelwise.api.app import create_app
from labelwise.store.keys import Role, create_key
from tests.conftest import PROJECT, make_settings
from tests.llm.fakes import BASE_URL, completion, single_label_tokens

EXAMPLES = 25
SEED = 20_250_601
CHECKS = ("not_a_server_error", "response_schema_conformance")


def _positive(_request: httpx.Request) -> httpx.Response:
    tokens = single_label_tokens("positive", [("positive", math.log(0.9)), ("negative", -2.3)])
    return httpx.Response(200, json=completion(json.dumps({"label": "positive"}), tokens=tokens))


def _admin_key(engine: Engine) -> str:
    with Session(engine) as session:
        return create_key(session, name="fuzzer", role=Role.ADMIN, team="acme")


@pytest.fixture
def fuzzed_app(database_url: str, queue_name: str, engine: Engine) -> Iterator[FastAPI]:
    """The app with a project, a batch (one gold item) and an admin key in place, the LLM faked.
    Shared rate limits are off: they keep an asyncio Redis client, and the ASGI transport runs
    each request on an event loop of its own."""
    app = create_app(make_settings(database_url, queue_name, shared_rate_limits=False))
    auth = {"Authorization": f"Bearer {_admin_key(engine)}"}
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as llm:
        llm.post("/chat/completions").mock(side_effect=_positive)
        client = TestClient(app)
        project = client.post("/v1/projects", json=PROJECT, headers=auth)
        assert project.status_code == 201, project.text
        items = {"items": [{"data": {"text": "fine"}, "ground_truth": "positive"}]}
        url = f"/v1/projects/{project.json()['id']}/batches"
        batch = client.post(url, json=items, headers=auth)
        assert batch.status_code == 202, batch.text
        yield app
    app.state.labelwise.engine.dispose()


def _failures(app: FastAPI, engine: Engine) -> tuple[list[str], int]:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": EXAMPLES, "deterministic": True},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)

    @schema.auth()
    class FreshAdminKey:
        def get(self, case: Any, ctx: Any) -> str:
            return _admin_key(engine)

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    found: dict[tuple[str, str], str] = {}
    answered = 0
    for event in from_schema(schema).execute():
        if isinstance(event, NonFatalError | FatalError):
            label = getattr(event, "label", None) or "the run"
            found.setdefault((label, repr(event.value)[:200]), "an exception escaped the app")
        if not isinstance(event, ScenarioFinished):
            continue
        answered += sum(1 for i in event.recorder.interactions.values() if i.response)
        if event.status != Status.FAILURE:
            continue
        for checks in event.recorder.checks.values():
            for check in checks:
                info = check.failure_info
                if check.status == Status.FAILURE and info is not None:
                    key = (event.label or "a stateful sequence", info.failure.title)
                    found.setdefault(key, info.code_sample)
    return [f"{label}: {title}\n{detail}" for (label, title), detail in found.items()], answered


def test_no_operation_answers_a_server_error(fuzzed_app: FastAPI, engine: Engine) -> None:
    failures, answered = _failures(fuzzed_app, engine)
    assert not failures, "\n\n".join(failures)
    # Sanity: the run reached the API (about a thousand answers), not just the schema.
    assert answered > 500
