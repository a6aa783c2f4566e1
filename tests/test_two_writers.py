"""Two writers on one database take turns: two real `ogi crawl` processes started together both
finish, with every report of both and an intact file; `--no-wait` says who holds the database."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

import yaml

from conftest import ROOT, crawl_args
from harvester import db as dbmod


def test_two_crawls_on_one_database_take_turns(sample_registry, crawled, tmp_path):
    rows = yaml.safe_load(sample_registry.read_text(encoding="utf-8"))["portals"]
    halves = [rows[::2], rows[1::2]]
    db = tmp_path / "ogi.db"
    procs = []
    for i, half in enumerate(halves):
        registry = tmp_path / f"half{i}.yaml"
        registry.write_text(yaml.safe_dump({"portals": half}, allow_unicode=True), encoding="utf-8")
        procs.append(subprocess.Popen([sys.executable, "-m", "harvester.cli", *map(str, crawl_args(registry, db))],
                                      cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=900) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode in (0, 1), err[-3000:]
        assert "database is locked" not in err and "Traceback" not in err, err[-3000:]
    assert any("waiting: " in err for _, err in outs)        # the second one said why it waited
    conn = sqlite3.connect(db)
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    got = set(conn.execute("select agency, year from reports").fetchall())
    want = set(sqlite3.connect(crawled["db"]).execute("select agency, year from reports").fetchall())
    assert got == want
    assert {r[0] for r in conn.execute("select status from crawl_runs")} == {"finished"}


def test_no_wait_names_the_holder(sample_registry, tmp_path):
    db = tmp_path / "ogi.db"
    with dbmod.writer(db, what="ogi reparse"):
        proc = subprocess.run([sys.executable, "-m", "harvester.cli",
                               *map(str, crawl_args(sample_registry, db)), "--no-wait"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 75
    assert "is being written by ogi reparse (pid" in proc.stderr
