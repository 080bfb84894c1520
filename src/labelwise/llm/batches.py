"""A thin adapter over a provider's Batch API (OpenAI's files and batches endpoints).

Every call goes through the one retry layer, like chat completions. The adapter knows nothing of
items: it uploads a JSONL of requests, creates the batch, reads its state and downloads files.
"""

from __future__ import annotations

import functools
from typing import Any

import openai
from openai.types import Batch

from labelwise.llm.meter import CallMeter
from labelwise.llm.retry import call_with_retries
from labelwise.settings import Settings

CHAT_ENDPOINT = "/v1/chat/completions"
# States after which a batch changes no more.
FINISHED_STATES = frozenset({"completed", "failed", "expired", "cancelled"})


class ProviderBatchAPI:
    def __init__(self, client: openai.AsyncOpenAI, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    async def submit(self, jsonl: bytes, *, metadata: dict[str, str]) -> tuple[str, str]:
        """Upload the requests and start the batch; returns (batch id, input file id)."""
        upload = functools.partial(
            self.client.files.create, file=("requests.jsonl", jsonl), purpose="batch"
        )
        uploaded = await self._retried(upload)
        create = functools.partial(
            self.client.batches.create,
            input_file_id=uploaded.id,
            endpoint=CHAT_ENDPOINT,
            completion_window=self.settings.provider_batch_window,
            metadata=metadata,
        )
        batch = await self._retried(create)
        return batch.id, uploaded.id

    async def retrieve(self, batch_id: str) -> Batch:
        return await self._retried(functools.partial(self.client.batches.retrieve, batch_id))

    async def download(self, file_id: str) -> bytes:
        content = await self._retried(functools.partial(self.client.files.content, file_id))
        return content.content

    async def _retried(self, call: Any) -> Any:
        return await call_with_retries(self.settings, call, CallMeter())


def request_line(custom_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": CHAT_ENDPOINT, "body": body}
