"""Parser processes that die: the pool is rebuilt, the document that killed its process is
recorded, everything else is parsed; workers go when their parent goes. Real processes, real
signals."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harvester.parsing import WorkerPool

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "harvester" / "sample_portals" / "docs"


def die_on(word: str) -> dict:
    """A stand-in for a document that crashes a native library: kills its own process."""
    if word == "boom":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.3)
    return {"word": word, "errors": []}


def test_a_dying_worker_costs_only_its_own_document():
    pool = WorkerPool(2)
    try:
        words = ["a", "b", "boom", "c", "d", "e", "f"]
        results = [f.result(timeout=120) for f in [pool.submit(die_on, w) for w in words]]
    finally:
        pool.shutdown()
    assert [r.get("word") for r in results] == ["a", "b", None, "c", "d", "e", "f"]
    died = results[2]["errors"]
    assert [e["kind"] for e in died] == ["worker_died"]
    assert all(not r["errors"] for i, r in enumerate(results) if i != 2)
    assert pool.rebuilt >= 1


def _descendants(pid: int) -> set[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        children = {p for p, pp in parents.items() if pp in frontier} - found
        found |= children
        frontier = children
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


FILES = [DOCS / n for n in ("gen-pingtan-county-2013.pdf", "gen-qingdao-econ-2018.pdf", "pingtan-zone-2023.pdf",
                            "pingtan-zone-2017.pdf", "gen-qingdao-bigdata-2020.docx", "pingtan-zone-2021.txt")]


def _start_parse(*files) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harvester.cli", "parse", "--json", "--workers", "2",
                             *map(str, files)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_workers(proc, n=2, timeout=30.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = _descendants(proc.pid)
        if len(kids) >= n + 1:        # the forkserver and its workers
            return kids
        time.sleep(0.05)
    return _descendants(proc.pid)


def test_ogi_parse_keeps_every_line_when_a_worker_is_killed():
    proc = _start_parse(*(FILES * 3))
    kids = _wait_for_workers(proc)
    workers = [p for p in kids if p not in {pp for pp in kids if _descendants(pp)}]
    assert workers, kids
    os.kill(max(workers), signal.SIGKILL)          # what the OOM killer does
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == len(FILES) * 3
    # The killed worker's documents were parsed again alone: nothing lost, nothing blamed wrongly.
    assert all(not any(e["kind"] == "worker_died" for e in r["errors"]) for r in records)
    serial = subprocess.run([sys.executable, "-m", "harvester.cli", "parse", "--json", *map(str, FILES)],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    expected = [json.loads(line) for line in serial] * 3
    assert [(r["file"], r.get("is_report"), r.get("cells")) for r in records] == \
        [(r["file"], r.get("is_report"), r.get("cells")) for r in expected]


def test_workers_do_not_outlive_a_killed_parent():
    proc = _start_parse(*(FILES * 3))
    kids = _wait_for_workers(proc)
    assert kids
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(p) for p in kids):
        time.sleep(0.1)
    assert not [p for p in kids if _alive(p)]
