from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from tests.llm.fakes import BASE_URL


@pytest.fixture
def llm_api() -> Iterator[respx.MockRouter]:
    """The LLM server, faked at the HTTP edge (the httpx transport)."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router
