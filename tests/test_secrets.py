"""Secrets stay secret: not in `repr(settings)`, not in stored or shown provider errors, not in
logged SQL, and a team names only the key variables its operator lists for it."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from labelwise.llm.client import endpoint_problem
from labelwise.scrub import REDACTED, scrub_secrets
from labelwise.settings import Settings
from labelwise.spec import ModelSpec
from labelwise.store.db import make_engine


def test_settings_never_show_the_provider_key_or_passwords() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        openai_api_key="sk-live-0123456789abcdef",
        database_url="postgresql://app:db-pass-123@db/labelwise",
        redis_url="redis://:redis-pass-456@cache:6379/0",
        metrics_token="scrape-token-789",
    )
    shown = repr(settings) + str(settings)
    for secret in ("sk-live-0123456789abcdef", "db-pass-123", "redis-pass-456", "scrape-token"):
        assert secret not in shown
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "sk-live-0123456789abcdef"
    assert settings.database_url.endswith("db-pass-123@db/labelwise")


@pytest.mark.parametrize(
    ("message", "kept", "gone"),
    [
        (
            "Error code: 401 - Incorrect API key provided: sk-proj-AbC123xyz789. See docs.",
            "Incorrect API key provided",
            "sk-proj-AbC123xyz789",
        ),
        ("upstream said: Authorization: Bearer abc.def.ghi", "Bearer", "abc.def.ghi"),
        ("bad request: api_key=hunter2hunter2 rejected", "rejected", "hunter2hunter2"),
        ("key lw_AbCdEfGhIjKlMnOpQr is revoked", "is revoked", "lw_AbCdEfGhIjKlMnOpQr"),
        ("token 0123456789abcdef0123456789abcdef01", "token", "0123456789abcdef0123456789abcdef"),
        ("AWS AKIAABCDEFGHIJKLMNOP denied", "denied", "AKIAABCDEFGHIJKLMNOP"),
    ],
)
def test_provider_errors_are_scrubbed_of_keys(message: str, kept: str, gone: str) -> None:
    scrubbed = scrub_secrets(message)
    assert scrubbed is not None
    assert gone not in scrubbed and kept in scrubbed and REDACTED in scrubbed


@pytest.mark.parametrize(
    "message",
    ["rate limited: retry after 3s", "HTTP 500 upstream exploded", "context length exceeded"],
)
def test_ordinary_errors_are_left_alone(message: str) -> None:
    assert scrub_secrets(message) == message


def test_database_errors_carry_no_parameters(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with engine.connect() as connection, pytest.raises(StatementError) as raised:
        connection.execute(text("SELECT * FROM no_such_table WHERE t = :t"), {"t": "item text"})
    assert "item text" not in str(raised.value)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("x").error("failed: %s", raised.value)
    assert "item text" not in caplog.text
    engine.dispose()


def test_a_team_names_only_the_key_variables_listed_for_it() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        api_key_envs={"acme": ["LABELWISE_KEY_ACME"]},
    )
    model = ModelSpec(name="m", api_key_env="LABELWISE_KEY_ACME")
    assert endpoint_problem(model, settings, team="acme") is None
    other = endpoint_problem(model, settings, team="globex")
    assert other is not None and "LABELWISE_API_KEY_ENVS" in other
    unlisted = ModelSpec(name="m", api_key_env="LABELWISE_KEY_GLOBEX")
    assert endpoint_problem(unlisted, settings, team="acme") is not None
