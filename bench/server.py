"""A real `followup serve` process for the HTTP benchmarks, and its first admin key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from infra.settings import Settings

FOLLOWUP = str(Path(sys.executable).parent / "followup")


@dataclass
class RunningServer:
    base_url: str
    admin_key: str
    process: subprocess.Popen
    projection_process: subprocess.Popen | None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(settings: Settings, *, workers: int = 1) -> Iterator[RunningServer]:
    """One API process with its projections, or `workers` API processes plus a projection process."""
    env = {**os.environ, "DATABASE_URL": settings.database_url or "", "FOLLOWUP_SCHEMA": settings.schema_name}
    port = _free_port()
    command = [FOLLOWUP, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    projection_process = None
    if workers > 1:
        command.append("--no-projections")
        projection_process = subprocess.Popen([FOLLOWUP, "projections", "run"], env=env,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the server did not start:\n{Path(log.name).read_text()[-3000:]}")
            time.sleep(0.1)
        admin_key = subprocess.run([FOLLOWUP, "users", "add", "Bench Admin", "--role", "admin"], env=env,
                                   capture_output=True, text=True, check=True).stdout.strip()
        wait_for_read_models(base_url, admin_key, deadline=time.monotonic() + 300)
        yield RunningServer(base_url, admin_key, process, projection_process)
    finally:
        for child in (process, projection_process):
            if child is not None:
                child.terminate()
                try:
                    child.wait(15)
                except subprocess.TimeoutExpired:
                    child.kill()


def wait_for_read_models(base_url: str, key: str, deadline: float) -> None:
    """Until the read models have caught up with the log as the benchmark left it: a read waits for
    them, and answers 503 while they are more than a few seconds behind. Measured during that
    catch-up, the first load level would time the start-up's work, not the commands'."""
    while True:
        try:
            answer = httpx.get(f"{base_url}/v1/follow-ups", headers={"Authorization": f"Bearer {key}"},
                               timeout=30)
            if answer.status_code == 200:
                return
            if answer.status_code != 503:
                raise RuntimeError(f"the read models' wait answered {answer.status_code}: {answer.text[:300]}")
        except httpx.TimeoutException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the read models did not catch up within the deadline")
        time.sleep(0.5)


def process_tree_peak_rss_mb(pid: int) -> float:
    """Peak RSS of a process and its children (uvicorn's workers), summed, in MB."""
    from bench.environment import peak_rss_mb

    total = peak_rss_mb(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            total += peak_rss_mb(int(child))
    return total
