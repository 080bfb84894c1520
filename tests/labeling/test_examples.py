"""The learning loop's similarity search: BM25 over reviewed items."""

from __future__ import annotations

from labelwise.labeling.examples import Example, ExampleCache, ExampleIndex, item_text, words

POOL = [
    Example(1, {"text": "The battery died after two days"}, "negative"),
    Example(2, {"text": "Battery life is superb, lasts a week"}, "positive"),
    Example(3, {"text": "Shipping was quick"}, "positive"),
    Example(4, {"text": "The screen cracked on day one"}, "negative"),
    Example(5, {"title": "Cracked", "stars": 1}, "negative"),
]


def test_words_and_text() -> None:
    assert words("Don't STOP, 2 times!") == ["don", "t", "stop", "2", "times"]
    assert item_text({"text": "hi", "other": 1}) == "hi"
    assert item_text({"title": "Cracked", "stars": 1}) == "Cracked 1"


def test_most_similar_ranks_shared_rare_words_first() -> None:
    index = ExampleIndex(POOL)
    found = index.most_similar({"text": "my battery died"}, 2)
    assert [e.item_id for e in found] == [1, 2]
    assert [e.item_id for e in index.most_similar({"text": "cracked screen"}, 3)] == [4, 5]


def test_an_item_is_never_its_own_example() -> None:
    index = ExampleIndex(POOL)
    by_id = index.most_similar({"text": "The battery died after two days"}, 1, exclude_item=1)
    assert by_id[0].item_id != 1
    # The same text posted again as another item is the item itself, too.
    by_text = index.most_similar({"text": "  The battery died after two days "}, 5)
    assert 1 not in [e.item_id for e in by_text]


def test_nothing_in_common_finds_nothing() -> None:
    index = ExampleIndex(POOL)
    assert index.most_similar({"text": "zebra"}, 3) == []
    assert index.most_similar({"text": "battery"}, 0) == []
    assert ExampleIndex([]).most_similar({"text": "battery"}, 3) == []


def test_cache_expires() -> None:
    cache = ExampleCache(ttl_seconds=10)
    index = ExampleIndex(POOL)
    assert cache.get(1, now=0) is None
    cache.put(1, index, now=0)
    assert cache.get(1, now=5) is index
    assert cache.get(1, now=11) is None
    assert cache.get(2, now=5) is None
