"""Write the sample datasets of the four task types beyond categories, with their truth.

    .venv/bin/python examples/make_task_examples.py

Each dataset is a folder with `project.json` (a project definition) and `items.jsonl` (items
with `ground_truth`): `tweets_ner` (spans: people, organisations and places in short posts, with
accents and emoji), `invoices` (extraction: vendor, number, total, currency, due date and whether
it is paid, from invoice e-mails of about a kilobyte), `reviews` (rating: product reviews on a 1-5
scale), `answers` (pairwise: which of two answers to a question is right). The texts are written
from templates with a fixed seed, so the files are the same on every run; the truth is known by
construction, never read back from a model.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 20261201

PEOPLE = [
    "José Álvarez",
    "Zoë Kravitz",
    "Amara Okafor",
    "Lukas Müller",
    "Priya Natarajan",
    "Chen Wei",
    "Sofía Herrera",
    "Mateus Gonçalves",
    "Ingrid Bjørnstad",
    "Kofi Mensah",
]
ORGS = [
    "Nestlé",
    "Société Générale",
    "Real Madrid",
    "OpenStreetMap",
    "Red Cross",
    "Bayer Leverkusen",
    "Spotify",
    "Médecins Sans Frontières",
    "Ørsted",
    "Tata Motors",
]
PLACES = [
    "São Paulo",
    "Zürich",
    "Kraków",
    "Reykjavík",
    "Lagos",
    "Montréal",
    "Kyoto",
    "Cape Town",
    "Málaga",
    "Nairobi",
]
TWEETS = [
    "Just landed in {LOC} for the {ORG} meetup 🎉 can't wait to hear {PER} speak tomorrow!!",
    "{PER} signs with {ORG} — huge news for everyone back in {LOC} 🔥🔥",
    "cannot believe {ORG} is closing its {LOC} office. thoughts with the team 💔",
    "Rainy Sunday in {LOC} ☔ reading the new interview with {PER}",
    "{PER} and {PER2} both at the {ORG} panel today, what a lineup",
    "anyone else stuck at the airport in {LOC}? 3 hours delay and counting 😩",
    "Big thanks to {ORG} volunteers who helped after the floods in {LOC} 🙏",
    "Hot take: {PER} was right about {ORG} all along",
    "No names, no places, just a really good coffee this morning ☕",
    "Weekend plans: {LOC} → {LOC2} by train, then dinner with {PER} 🚆",
]


def tweets(rng: random.Random, n: int = 40) -> list[dict[str, Any]]:
    items = []
    for i in range(n):
        template = TWEETS[i % len(TWEETS)]
        people, orgs, places = rng.sample(PEOPLE, 2), rng.sample(ORGS, 1), rng.sample(PLACES, 2)
        values = {
            "PER": people[0],
            "PER2": people[1],
            "ORG": orgs[0],
            "LOC": places[0],
            "LOC2": places[1],
        }
        text, spans = "", []
        rest = template
        while "{" in rest:
            before, _, after = rest.partition("{")
            key, _, rest = after.partition("}")
            text += before
            label = {"PER2": "PER", "LOC2": "LOC"}.get(key, key)
            spans.append(
                {
                    "start": len(text),
                    "end": len(text) + len(values[key]),
                    "label": label,
                    "text": values[key],
                }
            )
            text += values[key]
        text += rest
        items.append(
            {"external_id": f"tweet-{i + 1:03d}", "data": {"text": text}, "ground_truth": spans}
        )
    return items


VENDORS = [
    "Acme Office Supplies Ltd",
    "Nordlicht Druckerei GmbH",
    "Baker & Sons Catering",
    "Pixel Forge Studio",
    "Green Valley Farms",
    "Lumière Consulting SARL",
]
CURRENCIES = {"USD": "$", "EUR": "€", "GBP": "£"}


def invoices(rng: random.Random, n: int = 30) -> list[dict[str, Any]]:
    items = []
    for i in range(n):
        vendor, code = rng.choice(VENDORS), rng.choice(list(CURRENCIES))
        number = f"INV-{rng.randint(2026000, 2026999)}"
        total = round(rng.uniform(40, 9000), 2)
        due = f"2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        paid = rng.random() < 0.4
        amount = f"{CURRENCIES[code]}{total:,.2f}"
        status = (
            "Our records show this invoice was settled in full on receipt; thank you."
            if paid
            else f"Please arrange payment of {amount} by {due} to the account below."
        )
        text = (
            f"Subject: Invoice {number} from {vendor}\n\n"
            f"Dear accounts team,\n\nplease find attached invoice {number} for the services "
            f"delivered last month (project kick-off workshop, two follow-up sessions and the "
            f"written summary). The amount due is {amount} ({code}), VAT included where it "
            f"applies. {status}\n\nLine items: workshop facilitation, travel, venue hire, "
            f"printed materials. Questions about line items can go to billing@example.com; "
            f"questions about the work itself to your usual contact.\n\n"
            f"Bank: Example Bank, IBAN withheld for this sample.\n\nKind regards,\n{vendor}\n"
        )
        truth = {
            "vendor": vendor,
            "invoice_number": number,
            "total": total,
            "currency": code,
            "due_date": None if paid else due,
            "paid": paid,
        }
        items.append(
            {"external_id": f"invoice-{i + 1:03d}", "data": {"text": text}, "ground_truth": truth}
        )
    return items


REVIEW_PARTS = {
    1: [
        "Broke after two days.",
        "Completely useless, and support never answered.",
        "I want my money back.",
    ],
    2: ["Works, barely.", "The battery dies by lunchtime.", "Cheap materials; disappointed."],
    3: [
        "It is fine for the price.",
        "Some things good, some annoying.",
        "Does the job, nothing more.",
    ],
    4: [
        "Very good overall.",
        "Setup took a while but it has been reliable since.",
        "Would buy again, small quibbles aside.",
    ],
    5: [
        "Excellent in every way.",
        "Best purchase this year, flawless so far.",
        "Exceeded my expectations; highly recommend.",
    ],
}
PRODUCTS = ["wireless headphones", "coffee grinder", "hiking backpack", "desk lamp", "e-reader"]


def reviews(rng: random.Random, n: int = 40) -> list[dict[str, Any]]:
    items = []
    for i in range(n):
        stars = rng.randint(1, 5)
        product = rng.choice(PRODUCTS)
        sentences = rng.sample(REVIEW_PARTS[stars], 2)
        filler = (
            f"I bought this {product} for daily use at home and at work, and have used it "
            f"for about three weeks now. "
        )
        items.append(
            {
                "external_id": f"review-{i + 1:03d}",
                "data": {"text": filler + " ".join(sentences)},
                "ground_truth": stars,
            }
        )
    return items


QUESTIONS = [
    (
        "What is the boiling point of water at sea level in Celsius?",
        "Water boils at 100 °C at sea level (standard atmospheric pressure).",
        "Water boils at 90 °C at sea level, a bit lower than most people think.",
    ),
    (
        "Which planet is closest to the Sun?",
        "Mercury is the closest planet to the Sun.",
        "Venus is the closest planet to the Sun.",
    ),
    (
        "How many sides does a hexagon have?",
        "A hexagon has six sides.",
        "A hexagon has eight sides, like a stop sign.",
    ),
    (
        "What gas do plants absorb for photosynthesis?",
        "Plants absorb carbon dioxide (CO2) and release oxygen.",
        "Plants absorb oxygen and release carbon dioxide during photosynthesis.",
    ),
    (
        "Who wrote 'Pride and Prejudice'?",
        "Jane Austen wrote 'Pride and Prejudice' (1813).",
        "Charlotte Brontë wrote 'Pride and Prejudice'.",
    ),
    (
        "What is the capital of Australia?",
        "Canberra is the capital of Australia.",
        "Sydney is the capital of Australia.",
    ),
]


def answers(rng: random.Random, n: int = 36) -> list[dict[str, Any]]:
    items = []
    for i in range(n):
        question, right, wrong = QUESTIONS[i % len(QUESTIONS)]
        right_first = rng.random() < 0.5
        a, b = (right, wrong) if right_first else (wrong, right)
        items.append(
            {
                "external_id": f"answer-{i + 1:03d}",
                "data": {"question": question, "a": a, "b": b},
                "ground_truth": "a" if right_first else "b",
            }
        )
    return items


PROJECTS: dict[str, dict[str, Any]] = {
    "tweets_ner": {
        "name": "tweets-ner",
        "task": {
            "type": "spans",
            "labels": [
                {"name": "PER", "description": "a person's name"},
                {"name": "ORG", "description": "a company, club, charity or other organisation"},
                {"name": "LOC", "description": "a city, country or other place"},
            ],
            "guidelines": "Mark every person, organisation and place named in the post.",
        },
    },
    "invoices": {
        "name": "invoices",
        "task": {
            "type": "extraction",
            "schema": {
                "type": "object",
                "properties": {
                    "vendor": {"type": "string", "description": "who sent the invoice"},
                    "invoice_number": {"type": "string", "description": "the invoice's number"},
                    "total": {"type": "number", "description": "the amount due, as a number"},
                    "currency": {"enum": ["USD", "EUR", "GBP"], "description": "ISO currency code"},
                    "due_date": {
                        "type": "string",
                        "description": "YYYY-MM-DD; null when already paid",
                    },
                    "paid": {"type": "boolean", "description": "whether it is already paid"},
                },
            },
            "guidelines": "Take each field from the e-mail; null when it does not say.",
        },
    },
    "reviews": {
        "name": "review-stars",
        "task": {
            "type": "rating",
            "scale": {
                "min": 1,
                "max": 5,
                "anchors": {
                    "1": "useless or broken",
                    "3": "acceptable, mixed",
                    "5": "excellent, no complaints",
                },
            },
            "criteria": "How satisfied is the reviewer with the product?",
        },
    },
    "answers": {
        "name": "answer-correctness",
        "task": {
            "type": "pairwise",
            "fields": ["a", "b"],
            "context_field": "question",
            "guidelines": "Pick the answer that is factually correct.",
        },
    },
}
MAKERS = {"tweets_ner": tweets, "invoices": invoices, "reviews": reviews, "answers": answers}


def main() -> None:
    for name, make in MAKERS.items():
        folder = HERE / name
        folder.mkdir(exist_ok=True)
        project = {
            **PROJECTS[name],
            "model": {"name": "gpt-4o-mini"},
            "routing": {"accept_threshold": 0.8},
        }
        (folder / "project.json").write_text(
            json.dumps(project, indent=2, ensure_ascii=False) + "\n"
        )
        lines = [json.dumps(item, ensure_ascii=False) for item in make(random.Random(SEED))]
        (folder / "items.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{folder.relative_to(HERE.parent)}: {len(lines)} items")


if __name__ == "__main__":
    main()
