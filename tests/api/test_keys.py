"""API keys over HTTP: created by team admins, shown once, listed without secrets, revoked and
rotated with effect on the very next request, and never reachable from another team."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from labelwise.store.keys import Role, create_key, find_principal, list_keys, rotate_key
from labelwise.store.models import ApiKey
from tests.conftest import Keys


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def new_key(client: TestClient, keys: Keys, **body: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/keys", json={"role": "reviewer", **body}, headers=keys.auth("admin")
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_create_shows_the_secret_once_and_the_list_never(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    created = new_key(client, keys, name="carol")
    assert set(created) == {"id", "key", "name", "role", "prefix", "created_at", "expires_at"}
    assert created["name"] == "carol" and created["role"] == "reviewer"
    assert created["key"].startswith(created["prefix"]) and created["expires_at"] is None

    # The new key works at once, in the admin's team.
    assert client.get("/v1/projects", headers=bearer(created["key"])).status_code == 200

    listed = client.get("/v1/keys", headers=keys.auth("admin"))
    assert listed.status_code == 200
    body = listed.text
    assert created["key"] not in body and "key_hash" not in body and '"key"' not in body
    with Session(engine) as session:
        stored_hash = session.scalars(select(ApiKey.key_hash).where(ApiKey.id == created["id"]))
        assert stored_hash.one() not in body
    rows = {row["id"]: row for row in listed.json()}
    assert set(rows[created["id"]]) == {
        "id",
        "name",
        "role",
        "prefix",
        "created_at",
        "expires_at",
        "revoked_at",
    }
    assert rows[created["id"]]["revoked_at"] is None
    # Only the admin's own team: acme's six fixture keys but not globex's, plus the new one.
    assert {row["name"] for row in rows.values()} == {
        "ada",
        "sam",
        "rita",
        "rob",
        "judy",
        "carol",
    }


def test_a_revoked_key_is_refused_on_its_next_request(client: TestClient, keys: Keys) -> None:
    created = new_key(client, keys, name="temp", role="submitter")
    assert client.get("/v1/projects", headers=bearer(created["key"])).status_code == 200

    revoked = client.delete(f"/v1/keys/{created['id']}", headers=keys.auth("admin"))
    assert revoked.status_code == 204 and revoked.content == b""
    refused = client.get("/v1/projects", headers=bearer(created["key"]))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"

    listed = {row["id"]: row for row in client.get("/v1/keys", headers=keys.auth("admin")).json()}
    assert listed[created["id"]]["revoked_at"] is not None
    # Revoking again changes nothing and still answers 204.
    again = client.delete(f"/v1/keys/{created['id']}", headers=keys.auth("admin"))
    assert again.status_code == 204


def test_an_admin_may_revoke_its_own_key(client: TestClient, keys: Keys) -> None:
    own = client.get("/v1/keys", headers=keys.auth("admin")).json()
    ada = next(row for row in own if row["name"] == "ada")
    assert client.delete(f"/v1/keys/{ada['id']}", headers=keys.auth("admin")).status_code == 204
    assert client.get("/v1/keys", headers=keys.auth("admin")).status_code == 401


def test_expiry(client: TestClient, keys: Keys, engine: Engine) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    dated = new_key(client, keys, name="dated", expires_at=soon.isoformat())
    assert datetime.fromisoformat(dated["expires_at"]) == soon
    in_days = new_key(client, keys, name="days", expires_in_days=30)
    lasts = datetime.fromisoformat(in_days["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < lasts <= timedelta(days=30)
    assert client.get("/v1/projects", headers=bearer(dated["key"])).status_code == 200

    # Time passes: the key's expiry is now behind it, and its next request is refused.
    with engine.begin() as connection:
        connection.execute(
            update(ApiKey)
            .where(ApiKey.id == dated["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert client.get("/v1/projects", headers=bearer(dated["key"])).status_code == 401
    assert client.get("/v1/projects", headers=bearer(in_days["key"])).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "role": "reviewer", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "role": "reviewer", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "x", "role": "root"}, "role"),
        ({"name": "", "role": "reviewer"}, "name"),
        ({"name": "x", "role": "reviewer", "team": "globex"}, "team"),
    ],
)
def test_invalid_bodies_name_the_field(
    client: TestClient, keys: Keys, body: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/keys", json=body, headers=keys.auth("admin"))
    assert response.status_code == 422
    assert field in response.json()["error"]["message"]


def test_both_expiries_at_once_are_refused(client: TestClient, keys: Keys) -> None:
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    response = client.post(
        "/v1/keys",
        json={"name": "x", "role": "reviewer", "expires_at": later, "expires_in_days": 3},
        headers=keys.auth("admin"),
    )
    assert response.status_code == 422


def test_rotate_replaces_the_key_in_one_step(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    later = datetime.now(UTC) + timedelta(days=7)
    old = new_key(client, keys, name="ci", role="submitter", expires_at=later.isoformat())
    rotated = client.post(f"/v1/keys/{old['id']}/rotate", headers=keys.auth("admin"))
    assert rotated.status_code == 201, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    new = rotated.json()
    assert new["id"] != old["id"] and new["key"] != old["key"]
    assert (new["name"], new["role"], new["expires_at"]) == ("ci", "submitter", old["expires_at"])
    assert client.get("/v1/projects", headers=bearer(old["key"])).status_code == 401
    assert client.get("/v1/projects", headers=bearer(new["key"])).status_code == 200
    with Session(engine) as session:
        principal = find_principal(session, secret=new["key"])
    assert principal is not None and principal.team == "acme"

    # The old key is revoked: it cannot be rotated a second time.
    again = client.post(f"/v1/keys/{old['id']}/rotate", headers=keys.auth("admin"))
    assert again.status_code == 409


def test_another_teams_key_is_not_found(client: TestClient, keys: Keys, engine: Engine) -> None:
    with Session(engine) as session:
        eve = next(k for k in list_keys(session, team="globex") if k.name == "eve")
    for method, path in [("DELETE", f"/v1/keys/{eve.id}"), ("POST", f"/v1/keys/{eve.id}/rotate")]:
        response = client.request(method, path, headers=keys.auth("admin"))
        assert response.status_code == 404, (method, response.text)
    assert client.get("/v1/projects", headers=keys.auth("other_team")).status_code == 200
    assert client.delete("/v1/keys/999999", headers=keys.auth("admin")).status_code == 404
    assert client.delete(f"/v1/keys/{2**63}", headers=keys.auth("admin")).status_code == 422
    assert client.delete("/v1/keys/0", headers=keys.auth("admin")).status_code == 422


@pytest.mark.parametrize("who", ["submitter", "reviewer", "adjudicator"])
def test_only_admins_manage_keys(client: TestClient, keys: Keys, who: str) -> None:
    headers = keys.auth(who)
    assert client.get("/v1/keys", headers=headers).status_code == 403
    created = client.post("/v1/keys", json={"name": "x", "role": "admin"}, headers=headers)
    assert created.status_code == 403
    assert created.json()["error"]["code"] == "forbidden"
    assert client.delete("/v1/keys/1", headers=headers).status_code == 403
    assert client.post("/v1/keys/1/rotate", headers=headers).status_code == 403
    assert client.get("/v1/keys").status_code == 401


def test_rotate_in_the_store_revokes_in_the_same_transaction(engine: Engine) -> None:
    with Session(engine) as session:
        secret = create_key(session, name="svc", role=Role.SUBMITTER, team="t")
        principal = find_principal(session, secret=secret)
        assert principal is not None
        key_id = principal.key_id
        issued = rotate_key(session, key_id=key_id)
    with Session(engine) as session:
        assert find_principal(session, secret=secret) is None
        assert find_principal(session, secret=issued.secret) is not None
        records = {r.id: r for r in list_keys(session, team="t")}
    assert records[key_id].revoked_at is not None and records[issued.record.id].revoked_at is None


def test_expiry_at_the_edge_of_the_calendar_is_refused(client: TestClient, keys: Keys) -> None:
    for moment in ("9999-12-31T23:59:59-14:00", "9500-01-01T00:00:00Z"):
        response = client.post(
            "/v1/keys",
            json={"name": "edge", "role": "reviewer", "expires_at": moment},
            headers=keys.auth("admin"),
        )
        assert response.status_code == 422, response.text
        assert "expires_at" in response.json()["error"]["message"]
