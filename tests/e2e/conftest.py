"""Run the real daemon as a subprocess; kill it with SIGKILL; start it again."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.helpers import ROOT, guest_bytes

TOKEN = "e2e-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, data_dir, port: int):
        self.data_dir = data_dir
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = data_dir.parent / f"daemon-{port}.log"   # stdout and stderr, every start

    def log_lines(self) -> list[dict]:
        """The JSON log lines written so far (other output, like the demo banner, skipped)."""
        lines = []
        for raw in self.log_path.read_bytes().splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                pass
        return lines

    def start(self, *extra: str) -> None:
        env = {**os.environ, "GOLEMITE_TOKEN": TOKEN}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
                 "--log-format", "json", *extra],
                cwd=ROOT, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1).read()
                return
            except (urllib.error.URLError, ConnectionError):
                if self.proc.poll() is not None:
                    raise RuntimeError("daemon exited during start")
                time.sleep(0.05)
        raise RuntimeError("daemon did not start")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(20)

    def request(self, method: str, path: str, body=None, *, raw: bytes | None = None,
                content_type: str = "application/json", timeout: float = 30):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {TOKEN}")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def invoke(self, tid: str, worker: str, fn: str, params=(), key: str | None = None, timeout: float = 30):
        """invoke-and-await over HTTP: (status, body)."""
        q = f"?function={fn}" + (f"&invocation-key={key}" if key else "")
        return self.request("POST", f"/v1/templates/{tid}/workers/{worker}/invoke-and-await{q}",
                            {"params": list(params)}, timeout=timeout)

    def upload(self, name: str) -> str:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{name}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"template\"; filename=\"t.wasm\"\r\n\r\n"
                ).encode() + guest_bytes(name) + f"\r\n--{boundary}--\r\n".encode()
        status, t = self.request("POST", "/v1/templates", raw=body,
                                 content_type=f"multipart/form-data; boundary={boundary}")
        assert status == 200, t
        return t["versionedTemplateId"]["rawTemplateId"]


def background(fn):
    """Run `fn` on a thread; a connection error (the daemon killed under it) is its result."""
    box = {}

    def run():
        try:
            box["r"] = fn()
        except OSError as e:
            box["r"] = e
    t = threading.Thread(target=run)
    t.start()
    return t, box


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path / "data", free_port())
    d.start()
    yield d
    if d.proc.poll() is None:
        d.kill()
