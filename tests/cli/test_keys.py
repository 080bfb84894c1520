"""`labelwise keys create|list|revoke|rotate`, run as the command line runs them, on both stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from labelwise.cli.main import main
from labelwise.store.keys import find_principal

Cli = Callable[..., list[str]]


@pytest.fixture
def cli(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """Run `labelwise ARGS` against the test's store; its stdout lines, or SystemExit."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("LABELWISE_DATABASE_URL", database_url)

    def run(*args: str) -> list[str]:
        capsys.readouterr()
        assert main(list(args)) == 0
        return capsys.readouterr().out.splitlines()

    return run


def live(engine: Engine, secret: str) -> bool:
    with Session(engine) as session:
        return find_principal(session, secret=secret) is not None


def test_create_list_revoke_rotate(cli: Cli, engine: Engine) -> None:
    created = cli("keys", "create", "--name", "ci", "--role", "submitter", "--team", "acme")
    assert created[0] == "created submitter key 'ci' for team 'acme'"
    secret = created[-1]
    assert secret.startswith("lw_") and live(engine, secret)
    dated = cli("keys", "create", "--name", "tmp", "--role", "reviewer", "--expires-in-days", "3")
    assert "expiring" in dated[0] and dated[-1].startswith("lw_")

    listing = cli("keys", "list")
    assert listing[0].split() == [
        "ID", "TEAM", "NAME", "ROLE", "PREFIX", "CREATED", "EXPIRES", "STATUS"
    ]  # fmt: skip
    rows = {line.split()[2]: line.split() for line in listing[1:]}
    assert set(rows) == {"ci", "tmp"}
    assert rows["ci"][1] == "acme" and rows["ci"][4] == secret[:8] and rows["ci"][-1] == "active"
    assert rows["ci"][-2] == "-" and rows["tmp"][-2] != "-"
    assert all(secret not in line for line in listing)
    assert [line.split()[2] for line in cli("keys", "list", "--team", "acme")[1:]] == ["ci"]

    ci_id = rows["ci"][0]
    rotated = cli("keys", "rotate", ci_id)
    new_secret = rotated[-1]
    assert new_secret.startswith("lw_") and new_secret != secret
    assert not live(engine, secret) and live(engine, new_secret)

    after = {line.split()[0]: line.split() for line in cli("keys", "list", "--team", "acme")[1:]}
    assert after[ci_id][-1] == "revoked"
    [new_id] = set(after) - {ci_id}
    assert after[new_id][2] == "ci" and after[new_id][3] == "submitter"

    revoked = cli("keys", "revoke", new_id)
    assert revoked == [f"revoked key {new_id} 'ci' of team 'acme'"]
    assert not live(engine, new_secret)


def test_unknown_or_revoked_ids_fail_with_a_message(cli: Cli) -> None:
    secret_line = cli("keys", "create", "--name", "x", "--role", "admin")
    assert secret_line[-1].startswith("lw_")
    with pytest.raises(SystemExit, match="key 999 not found"):
        cli("keys", "revoke", "999")
    key_id = cli("keys", "list")[1].split()[0]
    cli("keys", "revoke", key_id)
    with pytest.raises(SystemExit, match="revoked or expired"):
        cli("keys", "rotate", key_id)
    with pytest.raises(SystemExit):
        cli("keys", "create", "--name", "x", "--role", "admin", "--expires-in-days", "0")
