"""`python -m dashboard` (the checked `streamlit run dashboard/app.py`) on a free loopback port, polled until
healthy, stopped cleanly.

Run from the repository root, so that .streamlit/config.toml (static serving of
the offline map, the viewer toolbar) applies as it does for `make run`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A cold start imports pandas, plotly and duckdb: seconds on a quiet machine, far more on a busy one.
STARTUP_SECONDS = 120
STOP_SECONDS = 10


class ServerFailed(RuntimeError):
    """streamlit exited or never answered its health check; the message holds the end of its log."""


@dataclass(frozen=True)
class RunningServer:
    process: subprocess.Popen
    url: str  # http://127.0.0.1:PORT
    log_path: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(url: str) -> bool:
    """Streamlit's own health check answers "ok"."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
            return answer.read().strip() == b"ok"
    except OSError:
        return False


@contextmanager
def streamlit_server(
    db: Path,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    startup_seconds: float = STARTUP_SECONDS,
    port: int | None = None,
    options: Sequence[str] = (),
    root: Path = ROOT,
) -> Iterator[RunningServer]:
    """The dashboard over the store `db`; its log and export log go to `workdir`; `env` adds variables.

    Pages open in Korean (the default): GANGNAM_LANG is dropped unless `env` sets it. `port`: a port
    chosen beforehand (a sign-in redirect URI names it); `options`: more of streamlit's options;
    `root`: another checkout of the project to serve (a benchmark's baseline), with this one's Python.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = workdir / "streamlit.log"
    full_env = {**os.environ, "GANGNAM_DB": str(db), "GANGNAM_EXPORT_LOG": str(workdir / "exports.log")}
    full_env.pop("GANGNAM_LANG", None)
    full_env.update({**(env or {}), "PYTHONPATH": str(root)})
    # an older checkout may predate `python -m dashboard`
    entry = (
        ["-m", "dashboard"]
        if (root / "dashboard" / "__main__.py").exists()
        else ["-m", "streamlit", "run", "dashboard/app.py"]
    )
    command = [sys.executable, *entry, "--server.headless", "true"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1", *options]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=root, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while not healthy(url):
            if process.poll() is not None:
                raise ServerFailed(f"streamlit exited with {process.returncode}:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                raise ServerFailed(f"streamlit not healthy after {startup_seconds:.0f} s:\n{_tail(log_path)}")
            time.sleep(0.25)
        yield RunningServer(process, url, log_path)
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (streamlit closes its sessions), then SIGKILL if it does not end in time."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log_path: Path, chars: int = 3000) -> str:
    return log_path.read_text(errors="replace")[-chars:]
