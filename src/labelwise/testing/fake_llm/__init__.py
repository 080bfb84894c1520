"""An OpenAI-compatible fake LLM server, so tests and benchmarks never call a remote model.

This package owns the fake: `POST /v1/chat/completions` (json_schema, forced-tool and json_object
structured output, n, logprobs with top_logprobs, max_tokens), `GET /v1/models`, `GET /healthz`,
fault injection (429, 500, truncated and schema-breaking answers) and counters at `GET /stats` /
`POST /stats/reset`. Its answers are deterministic in the seed and the item text and informative
(a label the text names is likely), with logprobs that are the true conditional distribution.
It answers every labelwise task type's schema: classification labels, spans' entities (found in
the item's text; rarely one that is not), extraction fields (read after their names), a rating
(peaked where the text hints) and a pairwise winner (the better candidate, with a mild bias to
the one shown first).

- `FakeLLMConfig`: the configuration (`config`).
- `FakeLLM`, `create_app`: the ASGI app and its routes (`app`), over the plumbing in `asgi`.
- One completion, in order (`chat`): the request read (`request`), faults (`faults`), the
  answer (`answer`, from the beliefs in `judge`, spelled by `tokens`), the response and usage
  (`completion`), the counters (`stats`).
- Task shapes: told from the schema (`shapes`), written by `shaped` from the beliefs of
  `entities` (with `entity_kinds`), `fields`, `ratings` and `preference`, over the item's
  fields as `item` reads them.
- `enum_distribution`: the distribution an enum answer is drawn from (`judge`).
- `serve`, `running_fake_llm`, `main`: running it (`server`);
  `python -m labelwise.testing.fake_llm`.
"""

from __future__ import annotations

from labelwise.testing.fake_llm.app import FakeLLM, create_app
from labelwise.testing.fake_llm.config import FakeLLMConfig
from labelwise.testing.fake_llm.judge import enum_distribution
from labelwise.testing.fake_llm.server import main, running_fake_llm, serve

__all__ = [
    "FakeLLM",
    "FakeLLMConfig",
    "create_app",
    "enum_distribution",
    "main",
    "running_fake_llm",
    "serve",
]
