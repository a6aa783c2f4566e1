"""Shared fixtures: the sample portals on a free 127.0.0.1 port, a real crawl of them into a
temporary database (run once per session, through the real `ogi crawl` command), a real
redis-server, and helpers to run `ogi` and Datasette as users do."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# Fast, impatient settings for local sites: the broken-page cases must not take minutes.
TEST_OVERRIDES = {"AUTOTHROTTLE_ENABLED": "false", "DOWNLOAD_DELAY": "0", "DOWNLOAD_TIMEOUT": "3",
                  "RETRY_TIMES": "0", "CONCURRENT_REQUESTS_PER_DOMAIN": "8"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ogi(*args, timeout=600, env=None, check=True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "harvester.cli", *map(str, args)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def crawl_args(registry: Path, db: Path, overrides=None) -> list[str]:
    args = ["--log-level", "WARNING", "crawl", "--portals", registry, "--db", db]
    for name, value in {**TEST_OVERRIDES, **(overrides or {})}.items():
        args += ["--set", f"{name}={value}"]
    return args


@pytest.fixture(scope="session")
def sample_portals():
    from harvester import sample_portals as sp
    with sp.start(port=0) as portals:
        yield portals


@pytest.fixture(scope="session")
def sample_registry(sample_portals, tmp_path_factory) -> Path:
    from harvester import sample_portals as sp
    path = tmp_path_factory.mktemp("registry") / "portals.yaml"
    # Only name and start_url: the crawler must find everything else itself (no render hints).
    rows = [{"name": r["name"], "start_url": r["start_url"]} for r in sp.registry(sample_portals.base_url)]
    path.write_text(yaml.safe_dump({"portals": rows}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def truth(sample_portals):
    from harvester import sample_portals as sp
    return sp.truth(sample_portals.base_url)


@pytest.fixture(scope="session")
def crawled(sample_registry, tmp_path_factory):
    """One real crawl of every sample portal; tests read the database it wrote."""
    db = tmp_path_factory.mktemp("crawl") / "ogi.db"
    result = run_ogi(*crawl_args(sample_registry, db))
    return {"db": db, "stdout": result.stdout, "stderr": result.stderr}


@pytest.fixture(scope="session")
def redis_url():
    exe = shutil.which("redis-server")
    if not exe:
        pytest.skip("redis-server is not installed (./quickstart.sh test installs it)")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def wait_http(url: str, timeout: float = 30) -> None:
    import urllib.request
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
