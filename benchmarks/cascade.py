"""A model cascade against the strong model alone: cost per item, share escalated, items sent to
reviewers and the accuracy of the accepted labels, on the sample news articles (known topics).

    .venv/bin/python benchmarks/cascade.py                 # two fake models
    .venv/bin/python benchmarks/cascade.py --local         # the embedded model, then a fake
    .venv/bin/python benchmarks/cascade.py --json

Every arm runs through the whole stack (API, Redis, a worker, SQLite) with the same routing
(`accept_threshold`), on the same items, posted without their truth:

- `strong alone`: the strong model labels every item;
- `cheap alone`: the cheap model labels every item;
- `cascade`: the cheap model first, the strong one for what it leaves below `escalate_below`.

Prices are set on the models: cheap 0.05 / 0.2 $ per million prompt / completion tokens, strong
2.5 / 10. The cheap model is a weak fake, or (`--local`) the embedded SmolLM2-135M reading the
real articles; the strong model is always a fake.

The fake reads no news: it favours a label the item names. So each fake sits behind a small
proxy, in this process, that adds the item's true topic to what that fake is shown (never to
what the embedded model is shown) for four items in five; the fifth are hard for every model
(the fake guesses). Asked at temperature 1, a fake picks the named topic with the probability it
believes in, so its confidence is calibrated: the strong fake believes 0.85 to 0.995, the weak
one 0.35 to 0.95 (most items near the top). A model asked the same request again gives the same
answer, so the arms are paired: the cascade's second step answers an item as the strong model
alone did, and only the cascade's choices differ.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from stack import running_stack

from labelwise.client import LabelwiseClient
from labelwise.tasks.base import data_json
from labelwise.testing.fake_llm import FakeLLMConfig, create_app
from labelwise.testing.fake_llm.judge import stable_seed
from labelwise.testing.fake_llm.server import serving_app

ROOT = Path(__file__).resolve().parents[1]
CHEAP_PRICE = {"prompt": 0.05, "completion": 0.2}
STRONG_PRICE = {"prompt": 2.5, "completion": 10.0}
STRONG_FAKE = FakeLLMConfig(latency_ms=0, accuracy_hint=0.995, confidence_spread=0.15, seed=11)
WEAK_FAKE = FakeLLMConfig(latency_ms=0, accuracy_hint=0.95, confidence_spread=0.6, seed=7)
HARD_SHARE = 5  # one item in this many is hard: no model is told its topic
ACCEPT_THRESHOLD = 0.8
ESCALATE_BELOW = 0.9


def news(limit: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The sample articles as items, and each one's truth by external id."""
    lines = (ROOT / "examples/news/items.jsonl").read_text().splitlines()[:limit]
    records = [json.loads(line) for line in lines]
    items = [{"external_id": r["id"], "data": {"text": r["text"]}} for r in records]
    return items, {r["id"]: r["label"] for r in records}


def hinted(data: dict[str, Any], truth: dict[str, str]) -> dict[str, Any]:
    """The item as a fake is shown it: with its topic, unless the item is a hard one."""
    topic = truth.get(data.get("text", ""))
    if topic is None or stable_seed("hard", data["text"]) % HARD_SHARE == 0:
        return data
    return {**data, "section": topic}


def with_hints(body: bytes, truth: dict[str, str]) -> bytes:
    """A chat request with each `<item>` block's data hinted (see `hinted`)."""
    request = json.loads(body)
    for message in request.get("messages", []):
        content = message.get("content")
        if message.get("role") != "user" or not isinstance(content, str):
            continue
        start, end = content.find("<item>"), content.rfind("</item>")
        if 0 <= start < end:
            block = content[start + len("<item>") : end].strip()
            shown = data_json(hinted(json.loads(block), truth))
            message["content"] = f"{content[:start]}<item>\n{shown}\n{content[end:]}"
    return json.dumps(request).encode()


def hinting_fake(config: FakeLLMConfig, truth: dict[str, str]) -> Any:
    """The fake LLM, told each item's topic on the way in (an ASGI wrapper). A request it has
    answered before gets the same answer again: the fake draws a fresh sample per request, and
    the arms must compare the same answers (a model asked twice the same way, paired)."""
    fake = create_app(config)
    answered: dict[bytes, list[dict[str, Any]]] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            await fake(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = with_hints(b"".join(chunks), truth)
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        if body in answered:
            for message in answered[body]:
                await send(message)
            return
        delivered, sent = False, []

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def keep(message: dict[str, Any]) -> None:
            sent.append(message)
            await send(message)

        await fake({**scope, "headers": headers}, replay, keep)
        answered.setdefault(body, sent)

    return app


def project(name: str, model: dict[str, Any], cascade: dict[str, Any] | None) -> dict[str, Any]:
    definition = json.loads((ROOT / "examples/news/project.json").read_text())
    definition.update(name=name, model=model, result_cache="off")
    definition["routing"] = {"accept_threshold": ACCEPT_THRESHOLD}
    if cascade is not None:
        definition["cascade"] = cascade
    return definition


def run_arm(
    client: LabelwiseClient,
    definition: dict[str, Any],
    items: list[dict[str, Any]],
    truth: dict[str, str],
) -> dict[str, Any]:
    created = client.create_project(definition)
    started = time.perf_counter()
    batch = client.post_batch(created["id"], items)
    while (summary := client.get_batch(batch["id"]))["status"] != "completed":
        time.sleep(0.5)
    elapsed = time.perf_counter() - started
    records = [json.loads(line) for line in b"".join(client.export(batch["id"])).splitlines()]
    return measured(definition, records, truth, summary, elapsed)


def measured(
    definition: dict[str, Any],
    records: list[dict[str, Any]],
    truth: dict[str, str],
    summary: dict[str, Any],
    elapsed: float,
) -> dict[str, Any]:
    n = len(records)
    accepted = [r for r in records if r["status"] == "accepted"]
    right = sum(r["label"] == truth[r["external_id"]] for r in accepted)
    strong = (definition.get("cascade") or {}).get("model", {}).get("name")
    escalated = sum(1 for r in records if strong and (r["prediction"] or {}).get("model") == strong)
    cost = summary["usage"]["cost_usd"]
    return {
        "items": n,
        "cost_usd": round(cost, 6),
        "cost_per_item_usd": cost / n,
        "escalated_share": round(escalated / n, 3) if strong else None,
        "sent_to_reviewers": n - len(accepted),
        "accepted": len(accepted),
        "accepted_accuracy": round(right / len(accepted), 3) if accepted else None,
        "counts": summary["counts"],
        "seconds": round(elapsed, 1),
    }


def compared(arms: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The cascade against each model alone: cost saved, reviews saved."""
    cascade, out = arms["cascade"], {}
    for alone in ("strong alone", "cheap alone"):
        if alone in arms:
            base = arms[alone]
            out[f"vs {alone}"] = {
                "cost_share": round(cascade["cost_usd"] / base["cost_usd"], 3)
                if base["cost_usd"]
                else None,
                "reviews_saved": base["sent_to_reviewers"] - cascade["sent_to_reviewers"],
            }
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    items, truth = news(args.items)
    by_text = {item["data"]["text"]: truth[item["external_id"]] for item in items}
    env = {"LABELWISE_LLM_CONCURRENCY": "4", "LABELWISE_LLM_TIMEOUT_SECONDS": "300"}
    with (
        serving_app(hinting_fake(STRONG_FAKE, by_text), name="strong-fake") as strong_url,
        serving_app(hinting_fake(WEAK_FAKE, by_text), name="weak-fake") as weak_url,
    ):
        env["LABELWISE_ALLOWED_LLM_BASE_URLS"] = json.dumps([strong_url, weak_url])
        local = None
        if args.local:
            from labelwise.local.model import find_local_model

            local = find_local_model()
        strong = {"name": "strong-fake", "base_url": strong_url, "temperature": 1.0}
        strong |= {"price": STRONG_PRICE}
        cheap_name = "smollm2-135m" if local else "weak-fake"
        cheap = {"name": cheap_name, "temperature": 0.0 if local else 1.0, "price": CHEAP_PRICE}
        if not local:
            cheap["base_url"] = weak_url
        cascade = {"model": strong, "escalate_below": args.escalate_below}
        arms: dict[str, dict[str, Any]] = {}
        with running_stack(
            workers=1, latency_ms=0, local_model=local, llm_url=None if local else weak_url,
            settings_env=env,
        ) as stack:  # fmt: skip
            client = LabelwiseClient(stack.api_url, stack.key, timeout=300)
            for name, definition in (
                ("strong alone", project("strong-alone", strong, None)),
                ("cheap alone", project("cheap-alone", cheap, None)),
                ("cascade", project("cascade", cheap, cascade)),
            ):
                arms[name] = run_arm(client, definition, items, truth)
    return {
        "cheap model": "SmolLM2-135M-Instruct Q4_1 (llama.cpp)" if local else "weak fake",
        "strong model": "strong fake",
        "accept_threshold": ACCEPT_THRESHOLD,
        "escalate_below": args.escalate_below,
        "arms": arms,
        "cascade compared": compared(arms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200, help="at most the 200 sample articles")
    parser.add_argument("--local", action="store_true", help="the embedded model as cheap step")
    parser.add_argument("--escalate-below", type=float, default=ESCALATE_BELOW)
    parser.add_argument("--json", action="store_true", help="print the report as JSON only")
    args = parser.parse_args()
    command = " ".join([".venv/bin/python", "benchmarks/cascade.py", *sys.argv[1:]])
    if not args.json:
        print(f"$ {command}", flush=True)
    report = {"command": command, **run(args)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"cheap: {report['cheap model']}; strong: {report['strong model']}")
    print(f"accept_threshold {ACCEPT_THRESHOLD}, escalate_below {args.escalate_below}")
    print(
        f"{'arm':<14}{'$/item':>12}{'escalated':>11}{'to review':>11}{'accepted':>10}"
        f"{'acc. right':>12}{'seconds':>9}"
    )
    for name, arm in report["arms"].items():
        escalated = "-" if arm["escalated_share"] is None else f"{arm['escalated_share']:.1%}"
        accuracy = "-" if arm["accepted_accuracy"] is None else f"{arm['accepted_accuracy']:.1%}"
        print(
            f"{name:<14}{arm['cost_per_item_usd']:>12.8f}{escalated:>11}"
            f"{arm['sent_to_reviewers']:>11}{arm['accepted']:>10}{accuracy:>12}"
            f"{arm['seconds']:>9}"
        )
    print(json.dumps(report["cascade compared"], indent=2))


if __name__ == "__main__":
    main()
