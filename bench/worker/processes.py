"""The benchmark's child processes: starting, stopping, their CPU time and their logs.

Why it exists: the worker and the bare consumer run as separate processes (timed
from process start), each in its own process group so that a stop takes every
thread and child with it, and every child is stopped on the way out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.worker.progress import say
from bench.worker.services import ROOT

STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Children:
    """Child processes of this benchmark, each in its own process group; stopped on exit."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, cmd: list[str], *, env: dict[str, str], cwd: str, log: Path) -> Any:
        handle = open(log, "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        proc.log_handle = handle  # type: ignore[attr-defined]
        proc.log_path = log  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def stop(self, proc: Any, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the child's process group, SIGKILL it if it is still there after `timeout`."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                say(f"pid {proc.pid} ignored SIGTERM for {timeout:.0f}s: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        with contextlib.suppress(ProcessLookupError):  # stragglers of the group, if any
            os.killpg(proc.pid, signal.SIGKILL)
        proc.log_handle.close()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def worker_cmd(port: int) -> list[str]:
    return [sys.executable, "-m", "agents.cli", "worker", "-l", "info", "--web-port", str(port)]


def child_env(
    services: dict[str, str], extra: dict[str, str], tree: Path | None = None
) -> dict[str, str]:
    """The environment of a child process; `tree`: the checkout whose code it runs (this one
    by default; another one for `--vs-tree`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROWTH_")}
    env |= services | extra
    env["PYTHONPATH"] = str(tree or ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env
