#!/usr/bin/env bash
# Set up, then label the sample news dataset end to end (API, Redis, workers, store) and write
# examples/news/items.labeled.jsonl. With OPENAI_BASE_URL (and OPENAI_API_KEY) set, the real model
# labels; without, the built-in fake LLM server stands in so the whole flow can be seen offline.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/setup.sh

llm_flag=()
if [ -z "${OPENAI_BASE_URL:-}" ] && [ -z "${OPENAI_API_KEY:-}" ]; then
  echo "quickstart: no OPENAI_BASE_URL set; labeling with the built-in fake LLM server" >&2
  llm_flag=(--fake-llm)
fi
export LABELWISE_DATABASE_URL=${LABELWISE_DATABASE_URL:-sqlite:///labelwise-quickstart.db}
.venv/bin/labelwise label examples/news/items.jsonl --project examples/news/project.json \
  --out examples/news/items.labeled.jsonl "${llm_flag[@]}"
