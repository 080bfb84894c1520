"""The quality report on a calibrated project with audits: figures as JSON, and the page."""

from __future__ import annotations

from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient

from labelwise.labeling.worker import run_worker
from labelwise.settings import Settings
from tests.conftest import Keys, sign_in
from tests.labeling.conftest import CALIBRATED_PROJECT, GOLD, MEH_GUIDELINE, items_of, post

AUDITED_PROJECT = {
    **CALIBRATED_PROJECT,
    "routing": {"target_precision": 0.9, "audit_rate": 0.5},
}


def fresh(n: int) -> list[dict[str, Any]]:
    return [{"external_id": f"new{i}", "data": {"text": "good"}} for i in range(n)]


@pytest.fixture
def labeled_project(
    client: TestClient, keys: Keys, settings: Settings, scored_llm: respx.MockRouter
) -> dict[str, Any]:
    project = client.post("/v1/projects", json=AUDITED_PROJECT, headers=keys.auth("admin")).json()
    gold = post(client, keys, project["id"], GOLD)
    run_worker(settings, burst=True)
    batch = post(client, keys, project["id"], fresh(40))
    run_worker(settings, burst=True)
    return {**project, "batch": batch, "gold_batch": gold}


def report(client: TestClient, keys: Keys, project_id: int, **params: Any) -> dict[str, Any]:
    response = client.get(
        f"/v1/projects/{project_id}/quality", params=params, headers=keys.auth("admin")
    )
    assert response.status_code == 200, response.text
    return response.json()


def review_all(client: TestClient, keys: Keys, project_id: int, decision: dict[str, Any]) -> int:
    done = 0
    while True:
        claim = client.post(
            "/v1/review/claim", json={"project_id": project_id}, headers=keys.auth("reviewer")
        )
        if claim.status_code == 204:
            return done
        body = claim.json()
        response = client.post(
            f"/v1/review/{body['item']['id']}",
            json={"claim_token": body["claim_token"], **decision(body)},
            headers=keys.auth("reviewer"),
        )
        assert response.status_code == 200, response.text
        done += 1


def test_gold_figures(client: TestClient, keys: Keys, labeled_project: dict[str, Any]) -> None:
    body = report(client, keys, labeled_project["id"])
    assert body["version"] == 1 and body["calibrated"] is True
    assert body["threshold"] == pytest.approx(0.85)
    # 40 "good" items right at 0.85, 10 "meh" ones wrong at 0.6.
    assert body["gold"]["items"] == 50 and body["gold"]["accuracy"]["value"] == pytest.approx(0.8)
    assert body["gold"]["auroc"] == 1.0
    assert body["at_threshold"]["coverage"] == pytest.approx(0.8)
    assert body["at_threshold"]["precision"]["value"] == 1.0
    assert body["best_coverage_at_target"] == pytest.approx(0.8)
    assert [(p["coverage"], p["accuracy"]) for p in body["accuracy_coverage"]] == [
        (pytest.approx(0.8), 1.0),
        (1.0, pytest.approx(0.8)),
    ]
    # ECE: 40 items at 0.85 all right (gap 0.15), 10 at 0.6 all wrong (gap 0.6).
    assert body["gold"]["ece"] == pytest.approx((40 * 0.15 + 10 * 0.6) / 50)
    bins = {round(b["lower"], 1): b for b in body["reliability"] if b["count"]}
    assert bins[0.8]["count"] == 40 and bins[0.8]["accuracy"] == 1.0
    assert bins[0.6]["count"] == 10 and bins[0.6]["accuracy"] == 0.0
    assert body["confusion"] == {"labels": ["positive", "negative"], "matrix": [[40, 0], [10, 0]]}
    per_label = {s["label"]: s for s in body["per_label"]}
    assert per_label["positive"]["precision"] == pytest.approx(0.8)
    assert per_label["positive"]["recall"] == 1.0
    assert per_label["negative"]["recall"] == 0.0 and per_label["negative"]["precision"] is None
    assert body["predicted_labels"] == {"positive": 90}
    assert body["gold_labels"] == {"positive": 40, "negative": 10}
    assert body["usage"]["items"] == 90 and body["usage"]["prompt_tokens_per_item"] > 0
    assert [v["version"] for v in body["versions"]] == [1]


def test_audit_estimates_precision_of_accepted_labels(
    client: TestClient, keys: Keys, labeled_project: dict[str, Any]
) -> None:
    statuses = [
        (i["status"], i["reason"]) for i in items_of(client, keys, labeled_project["batch"])
    ]
    audited = statuses.count(("review", "audit"))
    # All 40 new items clear the threshold; about half are drawn for an audit.
    assert 10 <= audited <= 30 and statuses.count(("accepted", None)) == 40 - audited
    before = report(client, keys, labeled_project["id"])["audit"]
    assert before["sent"] >= audited and before["decided"] == 0
    assert before["precision"]["value"] is None

    # Reviewers keep every audited label but one, and correct the low-confidence gold.
    wrong = {"n": 0}

    def decide(claimed: dict[str, Any]) -> dict[str, Any]:
        if claimed["item"]["reason"] == "audit" and wrong["n"] == 0:
            wrong["n"] += 1
            return {"decision": "correct", "value": "negative"}
        return {"decision": "accept"}

    review_all(client, keys, labeled_project["id"], decide)
    after = report(client, keys, labeled_project["id"])["audit"]
    assert after["decided"] == after["sent"] == before["sent"]
    expected = (after["sent"] - 1) / after["sent"]
    assert after["precision"]["value"] == pytest.approx(expected)
    low, high = after["precision"]["interval"]
    assert low < expected < high


def test_unknown_version_is_not_found(
    client: TestClient, keys: Keys, labeled_project: dict[str, Any]
) -> None:
    response = client.get(
        f"/v1/projects/{labeled_project['id']}/quality",
        params={"version": 7},
        headers=keys.auth("admin"),
    )
    assert response.status_code == 404
    other = client.get(
        f"/v1/projects/{labeled_project['id']}/quality", headers=keys.auth("other_team")
    )
    assert other.status_code == 404


def test_quality_page(client: TestClient, keys: Keys, labeled_project: dict[str, Any]) -> None:
    path = f"/projects/{labeled_project['id']}/quality"
    anonymous = client.get(path, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")

    bad = sign_in(client, "lw_nope", path)
    assert bad.status_code == 401
    signed_in = sign_in(client, keys.admin, path)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == path
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie

    page = client.get(path)
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    html = page.text
    assert html.count('<img src="data:image/svg+xml;base64,') == 4
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert "Confusion matrix" in html and "Audit estimate" in html

    # The cookie never opens the JSON API: it only reads the Authorization header.
    assert client.get(f"/v1/projects/{labeled_project['id']}/quality").status_code == 401


def test_open_redirect_is_refused(client: TestClient, keys: Keys) -> None:
    response = sign_in(client, keys.admin, "//evil.example/")
    assert response.headers["location"] == "/"


def test_relabel_with_new_guidelines_and_compare_versions(
    client: TestClient, keys: Keys, settings: Settings, labeled_project: dict[str, Any]
) -> None:
    project_id, gold_batch = labeled_project["id"], labeled_project["gold_batch"]
    # A reviewer settles one gold item; relabeling must not undo a human decision.
    claim = client.post(
        "/v1/review/claim",
        json={"project_id": project_id, "batch_id": gold_batch},
        headers=keys.auth("reviewer"),
    ).json()
    client.post(
        f"/v1/review/{claim['item']['id']}",
        json={"claim_token": claim["claim_token"], "decision": "correct", "value": "negative"},
        headers=keys.auth("reviewer"),
    )
    task = {**AUDITED_PROJECT["task"], "guidelines": MEH_GUIDELINE}
    edited = client.patch(
        f"/v1/projects/{project_id}", json={"task": task}, headers=keys.auth("admin")
    )
    assert edited.json()["version"] == 2

    response = client.post(f"/v1/batches/{gold_batch}/relabel", headers=keys.auth("submitter"))
    assert response.status_code == 202, response.text
    assert response.json() == {"id": gold_batch, "version": 2, "relabeled": 49}
    assert (
        client.get(f"/v1/batches/{gold_batch}", headers=keys.auth("admin")).json()["status"]
        == "running"
    )
    run_worker(settings, burst=True)

    after = {i["id"]: i for i in items_of(client, keys, gold_batch)}
    human = after[claim["item"]["id"]]
    assert human["status"] == "reviewed" and human["label"]["source"] == "human"
    assert {i["prediction"]["version"] for i in after.values() if i["id"] != human["id"]} == {2}

    body = report(client, keys, project_id)
    assert body["version"] == 2 and body["gold"]["accuracy"]["value"] == 1.0
    compared = {v["version"]: v for v in body["versions"]}
    # Compared on the 49 gold items both versions labeled.
    assert compared[1]["gold"]["items"] == compared[2]["gold"]["items"] == 49
    assert compared[1]["gold"]["accuracy"]["value"] < compared[2]["gold"]["accuracy"]["value"]
    assert report(client, keys, project_id, version=1)["gold"]["items"] == 50

    # Nothing is left to relabel: a second call puts nothing back.
    again = client.post(f"/v1/batches/{gold_batch}/relabel", headers=keys.auth("submitter"))
    assert again.json()["relabeled"] == 0
