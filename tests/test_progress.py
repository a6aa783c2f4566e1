"""Progress of long commands when stderr is not a terminal (cron, CI, pipes): a few plain lines,
no terminal control codes, and numbers that add up. `ogi export` on a real database and `ogi bench
crawl` on its generated column, both through the real command; the counter itself line by line."""
from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT

from harvester import progress

CONTROL = re.compile(r"\x1b|\r")


def test_counter_prints_a_line_per_tenth_and_one_at_the_end(capsys, monkeypatch):
    monkeypatch.setattr(progress, "_is_tty", lambda: False)
    with progress.counter(200, "re-parsed", unit="documents") as tick:
        for _ in range(200):
            tick()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 11, lines
    assert [line.split(",")[0] for line in lines[:10]] == [f"re-parsed: {n}/200 documents" for n in range(20, 201, 20)]
    assert re.fullmatch(r"re-parsed: 200/200 documents in \d+\.\d s, [\d,.]+/s", lines[-1]), lines[-1]


def test_counter_update_with_a_running_total_skips_no_tenth(capsys, monkeypatch):
    monkeypatch.setattr(progress, "_is_tty", lambda: False)
    with progress.counter(1000, "pages") as tick:
        for done in (50, 420, 430, 1000):     # jumps over several tenths at once: one line each time
            tick.update(done)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith("pages: 420/1,000, ") and lines[1].startswith("pages: 1,000/1,000, ")
    assert lines[2].startswith("pages: 1,000/1,000 in "), lines


def test_export_progress_when_not_a_terminal(tmp_path):
    from harvester.bench_site import build_scale_db
    db = build_scale_db(tmp_path / "scale.db", n_reports=300, verbose=False)
    result = subprocess.run([sys.executable, "-m", "harvester.cli", "export", "--db", str(db), "--out",
                             str(tmp_path / "out"), "--format", "csv"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not CONTROL.search(result.stderr), result.stderr[-2000:]
    exported = sum(int(n.replace(",", "")) for n in re.findall(r"^\s+\S+\s+([\d,]+) rows$", result.stdout, re.M))
    lines = [line for line in result.stderr.splitlines() if line.startswith("exported: ")]
    assert 2 <= len(lines) <= 12, lines                       # a tenth at a time, then the end
    assert re.fullmatch(rf"exported: {exported:,}/{exported:,} rows in \d+\.\d s, [\d,.]+/s", lines[-1]), lines
    # Every CSV row (header excepted) is one the progress counted.
    written = sum(len(f.read_text(encoding="utf-8").splitlines()) - 1 for f in (tmp_path / "out" / "csv").iterdir())
    assert written == exported


def test_bench_crawl_output_when_not_a_terminal():
    """Both crawlers fetch every request of the column (equal work), progress is plain lines."""
    from harvester.bench_crawl import column_size, list_pages_for
    result = subprocess.run([sys.executable, "-m", "harvester.cli", "bench", "crawl", "--pages", "300",
                             "--concurrency", "4"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not CONTROL.search(result.stderr + result.stdout)
    size = column_size(list_pages_for(300))
    rows = {m.group(1).strip(): m.groups()[1:] for m in re.finditer(
        r"^(plain Scrapy spider|ogi crawl)\s+(\d+)\s+[\d.]+\s+\d+\s+[\d.]+\s+\d+\s+([\d.]+)\s+([\d.]+)x\s+([\d.]+)x$",
        result.stdout, re.M)}
    assert set(rows) == {"plain Scrapy spider", "ogi crawl"}, result.stdout
    assert {pages for pages, *_ in rows.values()} == {str(size)}, result.stdout
    assert rows["plain Scrapy spider"][2:] == ("1.00", "1.00")
    memory = {m.group(1).strip(): m.group(2).split() for m in re.finditer(
        r"^(plain Scrapy spider|ogi crawl)\s+((?:\d+|-)(?:\s+(?:\d+|-)){6})$", result.stdout, re.M)}
    assert set(memory) == {"plain Scrapy spider", "ogi crawl"}, result.stdout
    assert all(int(cells[-2]) > 20 and int(cells[-1]) >= 1 for cells in memory.values())   # peak MB, processes
    for label in ("plain Scrapy spider", "ogi crawl"):
        final = [line for line in result.stderr.splitlines() if line.startswith(f"{label}: ") and " in " in line]
        assert final and final[-1].startswith(f"{label}: {size:,}/{size:,} "), result.stderr[-2000:]
