"""`python -m etl ARGS` as a user runs it, each run a fork of one warm interpreter.

The suite runs the ETL's command line a few hundred times, and a fresh
interpreter spends seconds importing pyarrow, duckdb and rich before it reads a
byte. Here one helper process per test process imports the CLI once and forks
for each run: the run is its own process (pid, memory, cwd, environment, exit
code, stdout and stderr), executing `etl/__main__.py` as `python -m etl` does.
Its peak memory (VmHWM) is reset when it starts (/proc/self/clear_refs), so it
counts the run plus the modules it shares with the helper, as a fresh process
would. Tests that need a real start-up (kill -9 of a load, two loads racing for
the lock) start `python -m etl` themselves.
"""

from __future__ import annotations

import atexit
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class WarmEtl:
    """One helper process; `run` is safe to call from several threads (runs are one at a time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._helper: subprocess.Popen | None = None
        self._pending = b""  # answers read from the pipe, not yet taken

    def _answer(self, timeout: float | None) -> int | None:
        """The helper's next line as a number, or None if none came within `timeout` seconds."""
        fd = self._helper.stdout.fileno()
        while b"\n" not in self._pending:
            if not select.select([fd], [], [], timeout)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError("the ETL helper process ended")
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return int(line)

    def _start(self) -> subprocess.Popen:
        if self._helper is None or self._helper.poll() is not None:
            self._helper = subprocess.Popen(
                # run as a module, not `-c`: DuckDB takes a main module without __file__ for an interactive
                # session, and then draws progress bars on stdout
                [sys.executable, "-m", "harness.etl_cli"],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            self._pending = b""
            atexit.register(self.close)
        return self._helper

    def close(self) -> None:
        if self._helper is not None and self._helper.poll() is None:
            self._helper.stdin.close()
            self._helper.wait(timeout=30)

    def run(
        self, args: Sequence[object], cwd: Path, env: Mapping[str, str], timeout: float, measure: bool = False
    ) -> tuple[int, str, str, int | None]:
        """(exit code, stdout, stderr, peak resident bytes when `measure`); TimeoutExpired as subprocess.run."""
        with self._lock, tempfile.TemporaryDirectory() as folder:
            out, err, peak = (Path(folder) / name for name in ("out", "err", "peak"))
            request = {
                "args": [str(arg) for arg in args],
                "cwd": str(cwd),
                "env": dict(env),
                "out": str(out),
                "err": str(err),
                "peak": str(peak) if measure else None,
            }
            helper = self._start()
            helper.stdin.write(json.dumps(request) + "\n")
            helper.stdin.flush()
            pid = self._answer(None)
            code = self._answer(timeout)
            if code is None:
                os.kill(pid, signal.SIGKILL)
                self._answer(None)
                raise subprocess.TimeoutExpired(["python", "-m", "etl", *request["args"]], timeout)
            peak_bytes = int(peak.read_text()) * 1024 if measure else None
            return code, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8"), peak_bytes


# -- the helper (`python -m harness.etl_cli`): one JSON request a line; answers the child's pid, then its exit code


def _run_in_child(request: dict) -> int:
    import etl.__main__

    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    for fd, path in ((1, request["out"]), (2, request["err"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the peak resident size starts again from what this process holds now
    sys.argv = [etl.__main__.__file__, *request["args"]]
    del sys.modules["etl.__main__"]  # executed anew as __main__, as `python -m etl` does; its imports stay warm
    code = 0
    try:
        runpy.run_module("etl", run_name="__main__", alter_sys=True)
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            code = done.code or 0
        else:
            print(done.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    if request["peak"]:
        with open("/proc/self/status") as status, open(request["peak"], "w") as out:
            out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
    return code


def _serve() -> None:
    # the CLI imports a command's modules when the command runs: warm them here, once
    import etl.__main__
    import etl.generate
    import etl.load  # noqa: F401

    answers = os.fdopen(os.dup(1), "w", buffering=1)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _run_in_child(request)
            finally:
                os._exit(code)
        answers.write(f"{pid}\n")
        _, status = os.waitpid(pid, 0)
        answers.write(f"{os.waitstatus_to_exitcode(status)}\n")


if __name__ == "__main__":
    _serve()
