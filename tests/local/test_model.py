"""Finding and checking the embedded model, and the command line its server is started with."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import labelwise.local.model as local_llm
from labelwise.local.model import LocalModel, LocalModelUnavailable, find_local_model, server_path


def test_server_runs_on_loopback_without_ui_or_downloads() -> None:
    argv = LocalModel(Path("/bin/llama-server"), Path("/m.gguf")).server_argv(
        port=9000, threads=1, parallel=2, context=2048
    )
    pairs = dict(zip(argv[1::2], argv[2::2], strict=False))
    assert pairs["--host"] == "127.0.0.1" and pairs["--port"] == "9000"
    assert pairs["--model"] == "/m.gguf" and pairs["--ctx-size"] == "4096"
    assert {"--no-webui", "--jinja"} <= set(argv)
    assert not any(flag.startswith(("-hf", "--hf")) for flag in argv)


def test_a_configured_server_is_the_only_one_considered(tmp_path: Path) -> None:
    binary = tmp_path / "llama-server"
    binary.write_text("#!/bin/sh\n")
    with pytest.raises(LocalModelUnavailable, match="not an executable"):
        server_path(str(binary))
    binary.chmod(0o755)
    assert server_path(str(binary)) == binary
    with pytest.raises(LocalModelUnavailable, match="labelwise local setup"):
        server_path(str(tmp_path / "missing"))


def test_a_model_file_with_the_wrong_checksum_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / local_llm.MODEL_FILE
    model.write_bytes(b"not the model")
    binary = tmp_path / "llama-server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setattr(local_llm, "model_path", lambda: model)
    with pytest.raises(LocalModelUnavailable, match="sha256"):
        find_local_model(str(binary))
    monkeypatch.setattr(local_llm, "MODEL_SHA256", hashlib.sha256(b"not the model").hexdigest())
    assert find_local_model(str(binary)) == LocalModel(server=binary, model=model)
