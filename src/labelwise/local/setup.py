"""`labelwise local setup`: install the embedded model and build llama.cpp's server, once.

No prebuilt llama.cpp server exists in the package registries, so this builds the `llama-server`
target of the llama.cpp that `llama-cpp-python` vendors, with portable CPU flags (a `-march=native`
build can die with SIGILL on processors whose extensions it wrongly assumes). The binary is cached
under `~/.cache/labelwise/` so a second virtualenv on the same machine gets it in seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from labelwise.local.model import (
    MODEL_PACKAGE,
    MODEL_PACKAGE_VERSION,
    SERVER_BINARY,
    find_local_model,
)

LLAMA_CPP_PYTHON = "llama-cpp-python"
LLAMA_CPP_PYTHON_VERSION = "0.3.36"
PORTABLE_CPU_FLAGS = [
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
]
BUILD_FLAGS = [
    "-DCMAKE_BUILD_TYPE=Release",
    *PORTABLE_CPU_FLAGS,
    "-DLLAMA_USE_PREBUILT_UI=OFF",  # the prebuilt web UI is a download; the server runs without it
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "labelwise" / f"llama-server-{LLAMA_CPP_PYTHON_VERSION}"


def say(message: str) -> None:
    print(f"labelwise local setup: {message}", file=sys.stderr, flush=True)


def run(argv: list[str], **kwargs: object) -> None:
    subprocess.run(argv, check=True, **kwargs)  # type: ignore[call-overload]


def install_model() -> None:
    """The model ships as a wheel whose own dependencies we do not want: install it alone."""
    say(f"installing {MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION} (98 MB, the model file)")
    run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         f"{MODEL_PACKAGE.replace('_', '-')}=={MODEL_PACKAGE_VERSION}"])  # fmt: skip


def build_server(destination: Path, *, jobs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="labelwise-llama-") as scratch:
        work = Path(scratch)
        say(f"downloading the {LLAMA_CPP_PYTHON} {LLAMA_CPP_PYTHON_VERSION} source (77 MB)")
        requirement = f"{LLAMA_CPP_PYTHON}=={LLAMA_CPP_PYTHON_VERSION}"
        run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
             ":all:", requirement, "-d", str(work)])  # fmt: skip
        (archive,) = work.glob("*.tar.gz")
        with tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")
        (source,) = work.glob("*/vendor/llama.cpp")
        build = work / "build"
        say(f"building {SERVER_BINARY} with {jobs} jobs (about 5 minutes on 2 cores)")
        started = time.monotonic()
        # The `local` extra installs cmake into the virtualenv, which may not be on PATH.
        beside_python = Path(sys.prefix) / "bin" / "cmake"
        cmake = str(beside_python) if beside_python.is_file() else shutil.which("cmake") or "cmake"
        run([cmake, "-S", str(source), "-B", str(build), *BUILD_FLAGS], stdout=subprocess.DEVNULL)
        run([cmake, "--build", str(build), "--target", SERVER_BINARY, "-j", str(jobs)],
            stdout=subprocess.DEVNULL)  # fmt: skip
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build / "bin" / SERVER_BINARY, destination)
        say(f"built in {time.monotonic() - started:.0f}s")


def setup_local(*, rebuild: bool = False, jobs: int | None = None) -> int:
    install_model()
    cached = cache_dir() / SERVER_BINARY
    if rebuild or not cached.is_file():
        build_server(cached, jobs=jobs or os.cpu_count() or 2)
    else:
        say(f"using the server built before, {cached}")
    target = Path(sys.prefix) / "bin" / SERVER_BINARY
    shutil.copy2(cached, target)
    local = find_local_model()
    say(f"ready: {local.server} serving {local.model.name}")
    return 0
