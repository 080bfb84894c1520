"""Items of realistic size for the run: support tickets of a few hundred bytes to about 2 KB.

Each phase gets texts of its own (the phase's name is part of every text and external id), so no
label of one phase can be copied into another by a result cache. Deterministic per phase and
index, so two runs label the same documents.
"""

from __future__ import annotations

import random
from typing import Any

LABELS = ["billing", "bug", "feature_request", "account", "shipping"]
GUIDELINES = (
    "Classify the customer's support ticket by what the customer needs resolved first. "
    "billing: charges, refunds, invoices. bug: the product misbehaves. feature_request: asks "
    "for something the product does not do. account: sign-in, profile, access. shipping: "
    "delivery of a physical order."
)

_OPENINGS = {
    "billing": "I was charged twice for the same invoice this month and need a refund",
    "bug": "The export button crashes the app every time I press it on a large report",
    "feature_request": "It would help a lot if the dashboard could group results by region",
    "account": "I cannot sign in since I changed my email address on the profile page",
    "shipping": "My order was marked delivered but the parcel never arrived at my address",
}
_DETAILS = [
    "We are a team of twelve and use the product every day for our weekly reporting",
    "I already tried the steps from the help center, clearing the cache and logging out",
    "The issue started right after the update that was announced in your newsletter",
    "Our finance department needs this sorted before the end of the quarter",
    "I attached screenshots to my previous message but never got an answer",
    "The same thing happened to a colleague on a different laptop and browser",
    "The support chat suggested opening a ticket, so here it is",
    "We have been customers for four years and this is the first time I write in",
    "Please let me know if you need the order number or the account identifier",
    "It is not urgent for today but it blocks part of our workflow",
]
_CLOSINGS = ["Thanks in advance.", "Best regards, Dana.", "Looking forward to your reply.", ""]


def ticket(phase: str, index: int, *, min_chars: int = 300, max_chars: int = 2000) -> str:
    """One ticket, unique to (`phase`, `index`); its first sentence names its topic."""
    rng = random.Random(f"{phase}:{index}")
    topic = LABELS[index % len(LABELS)]
    target = rng.randint(min_chars, max_chars)
    parts = [f"Ticket {phase}-{index}.", _OPENINGS[topic] + "."]
    while sum(len(p) + 1 for p in parts) < target:
        parts.append(rng.choice(_DETAILS) + ".")
    parts.append(rng.choice(_CLOSINGS))
    return " ".join(p for p in parts if p)[:max_chars]


def phase_items(phase: str, count: int) -> list[dict[str, Any]]:
    """The API items of one phase's batch."""
    return [
        {"external_id": f"{phase}-{i}", "data": {"text": ticket(phase, i)}} for i in range(count)
    ]


def project_definition(name: str) -> dict[str, Any]:
    """A classification project; the result cache off, so every item costs one LLM call."""
    return {
        "name": name,
        "task": {"type": "classification", "labels": LABELS, "guidelines": GUIDELINES},
        "model": {"name": "fake-llm"},
        "routing": {"accept_threshold": 0.8},
        "result_cache": "off",
    }
