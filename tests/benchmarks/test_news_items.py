"""The realistic items the benchmarks measure on: documents of real size, the same on every run,
with a project the API accepts and gold it accepts too.

If these drift (items shrink to a sentence, the guidelines vanish, labels stop matching), every
throughput and latency figure measured on them flatters the system without anyone noticing.
"""

from __future__ import annotations

import json
from collections import Counter

from benchmarks.news_items import (
    GUIDELINES,
    LABELS,
    MAX_TEXT_BYTES,
    MIN_TEXT_BYTES,
    news_article,
    news_items,
    news_project,
)

from labelwise.spec import ProjectSpec
from labelwise.testing.fake_llm.judge import mentions

SAMPLE = 1500


def test_every_article_is_two_to_three_kilobytes() -> None:
    sizes = [len(news_article(7, i).text.encode()) for i in range(SAMPLE)]
    assert min(sizes) >= MIN_TEXT_BYTES
    assert max(sizes) <= MAX_TEXT_BYTES
    assert (MIN_TEXT_BYTES, MAX_TEXT_BYTES) == (2048, 3072)


def test_the_same_seed_gives_the_same_items_and_another_seed_other_ones() -> None:
    first, again, other = news_items(50, seed=3), news_items(50, seed=3), news_items(50, seed=4)
    assert first == again
    assert [i["data"] for i in first] != [i["data"] for i in other]
    # An item does not depend on how many were asked for.
    assert news_items(10, seed=3) == first[:10]


def test_articles_vary_in_wording_within_and_across_topics() -> None:
    articles = [news_article(0, i) for i in range(200)]
    assert len({a.text for a in articles}) == len(articles)
    assert len({a.title for a in articles}) > 150
    words_by_topic: dict[str, set[str]] = {}
    for article in articles:
        words_by_topic.setdefault(article.topic, set()).update(article.text.lower().split())
    sports, business = words_by_topic["sports"], words_by_topic["business"]
    assert len(sports - business) > 50 and len(business - sports) > 50


def test_every_topic_is_drawn_and_is_a_label_of_the_project() -> None:
    names = [label["name"] for label in LABELS]
    topics = Counter(news_article(1, i).topic for i in range(SAMPLE))
    assert set(topics) == set(names)
    assert min(topics.values()) > SAMPLE / len(names) * 0.7


def test_the_project_is_one_the_api_accepts_with_five_described_labels() -> None:
    definition = news_project(items_per_request=3)
    spec = ProjectSpec.model_validate({k: v for k, v in definition.items() if k != "name"})
    assert len(spec.task.labels) == 5
    assert all(len(label.description) > 60 for label in spec.task.labels)
    assert 2048 <= len(spec.task.guidelines.encode()) <= 3072
    assert spec.task.guidelines == GUIDELINES
    assert spec.items_per_request == 3


def test_gold_is_the_article_topic_and_only_on_the_share_asked_for() -> None:
    items = news_items(1000, seed=5, gold_share=0.1)
    gold = [item for item in items if "ground_truth" in item]
    assert 60 <= len(gold) <= 140
    for item in gold:
        index = int(item["external_id"].rsplit("-", 1)[1])
        assert item["ground_truth"] == news_article(5, index).topic
    assert not any("ground_truth" in item for item in news_items(100, seed=5))


def test_most_articles_name_their_topic_and_some_name_another() -> None:
    """What lets a model (the fake one too) be sure of most items and unsure of the rest."""
    names = [label["name"] for label in LABELS]
    own = other = 0
    for i in range(SAMPLE):
        article = news_article(2, i)
        shown = json.dumps({"title": article.title, "text": article.text})
        own += mentions(shown, article.topic)
        other += any(mentions(shown, name) for name in names if name != article.topic)
    assert 0.75 <= own / SAMPLE <= 0.95
    assert 0.05 <= other / SAMPLE <= 0.3
