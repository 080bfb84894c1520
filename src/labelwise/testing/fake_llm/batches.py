"""OpenAI's Batch API, faked in memory: files up and down, batches created, run and retrieved.

This module owns `POST /v1/files` (multipart, as the SDK uploads), `GET /v1/files/{id}/content`,
`POST /v1/batches` and `GET /v1/batches/{id}`. A batch runs in the background, each of its lines
answered by the same chat endpoint as online requests (so the same latency, faults, logprobs and
usage); answers land in an output file, failures (429s, 500s) in an error file, as OpenAI does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from labelwise.testing.fake_llm.asgi import error_body
from labelwise.testing.fake_llm.chat import ChatCompletions

# Lines of one batch answered at once.
_CONCURRENCY = 64


class BatchAPI:
    def __init__(self, chat: ChatCompletions) -> None:
        self.chat = chat
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    def create_file(self, content_type: str, body: bytes) -> tuple[int, dict[str, Any]]:
        parts = _form_parts(content_type, body)
        if "file" not in parts:
            return 400, error_body("a file part is required", "invalid_request_error", None, "file")
        filename, content = parts["file"]
        file_id = f"file-fake-{next(self._ids)}"
        self.files[file_id] = content
        purpose = parts.get("purpose", ("", b"batch"))[1].decode()
        return 200, _file_object(file_id, filename or "upload.jsonl", len(content), purpose)

    def create_batch(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            request = json.loads(body)
            input_file_id = request["input_file_id"]
        except (ValueError, KeyError, TypeError):
            return 400, error_body("input_file_id is required", "invalid_request_error", None)
        if input_file_id not in self.files:
            return 404, error_body(f"no file {input_file_id}", "invalid_request_error", None)
        batch_id = f"batch_fake_{next(self._ids)}"
        batch = self.batches[batch_id] = {
            "id": batch_id,
            "object": "batch",
            "endpoint": request.get("endpoint", "/v1/chat/completions"),
            "errors": None,
            "input_file_id": input_file_id,
            "completion_window": request.get("completion_window", "24h"),
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": int(time.time()),
            "in_progress_at": None,
            "completed_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": request.get("metadata"),
        }
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return 200, dict(batch)

    async def _run(self, batch: dict[str, Any]) -> None:
        lines = [line for line in self.files[batch["input_file_id"]].splitlines() if line.strip()]
        batch["status"] = "in_progress"
        batch["in_progress_at"] = int(time.time())
        batch["request_counts"]["total"] = len(lines)
        slots = asyncio.Semaphore(_CONCURRENCY)
        answered: list[tuple[bool, dict[str, Any]]] = []

        async def answer(n: int, line: bytes) -> None:
            request = json.loads(line)
            async with slots:
                reply = await self.chat.reply(json.dumps(request["body"]).encode())
            ok = reply.status == 200
            answered.append(
                (
                    ok,
                    {
                        "id": f"batch_req_{n}",
                        "custom_id": request["custom_id"],
                        "response": {
                            "status_code": reply.status,
                            "request_id": f"req_{n}",
                            "body": reply.body,
                        },
                        "error": None,
                    },
                )
            )
            batch["request_counts"]["completed" if ok else "failed"] += 1

        await asyncio.gather(*(answer(n, line) for n, line in enumerate(lines)))
        for ok, kind in ((True, "output_file_id"), (False, "error_file_id")):
            chosen = [json.dumps(record) for good, record in answered if good is ok]
            if chosen:
                file_id = f"file-fake-{next(self._ids)}"
                self.files[file_id] = ("\n".join(chosen) + "\n").encode()
                batch[kind] = file_id
        batch["status"] = "completed"
        batch["completed_at"] = int(time.time())


def _file_object(file_id: str, filename: str, size: int, purpose: str) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": int(time.time()),
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
    }


def _form_parts(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """A multipart/form-data body's parts by name: (filename, content)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            parts[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return parts
