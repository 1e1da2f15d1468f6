"""The huggingface_hub boundary without network: an HfApi that records what it is asked to do, and a loopback
server answering the Hub's card-validation endpoint over real HTTP."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

from huggingface_hub import HfApi


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under `folder`."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file()
    }


class RecordingApi(HfApi):
    """Records every Hub call; upload_folder records the files present at the moment it is asked to send them."""

    def __init__(self, *, existing_public: bool = False):
        super().__init__(endpoint="http://127.0.0.1:9")  # a closed port: any call not overridden here fails
        self.calls: list[tuple[str, dict]] = []
        self.sent: dict[str, str] = {}
        self.sent_from: Path | None = None
        self.existing_public = existing_public
        self._private: bool | None = None

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        self._private = False if self.existing_public else kwargs.get("private")
        return f"https://huggingface.co/datasets/{repo_id}"

    def repo_info(self, repo_id, **kwargs):
        self.calls.append(("repo_info", {"repo_id": repo_id, **kwargs}))
        return SimpleNamespace(id=repo_id, private=self._private)

    def create_branch(self, repo_id, **kwargs):
        self.calls.append(("create_branch", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        self.sent_from = Path(kwargs["folder_path"])
        self.sent = snapshot(self.sent_from)
        return SimpleNamespace(commit_url=f"https://huggingface.co/{kwargs['repo_id']}/commit/abc")

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def call(self, name: str) -> dict:
        return next(kwargs for n, kwargs in self.calls if n == name)


class CardValidator:
    """Loopback stand-in for POST {endpoint}/api/validate-yaml: 200, or 400 with a message when `reject` is set."""

    def __init__(self, reject: str | None = None):
        self.reject = reject
        self.bodies: list[bytes] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.bodies.append(body)
                ok = self.path == "/api/validate-yaml" and outer.reject is None
                payload = b"" if ok else (outer.reject or "unknown path").encode()
                self.send_response(200 if ok else 400)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> CardValidator:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def online(monkeypatch, endpoint: str) -> None:
    """The fake Hub as an online user sees it, also when the suite runs with HF_HUB_OFFLINE=1 set."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
