"""Scheduled harvests through the real commands: `ogi due` / `ogi run-due` with a fixed clock over
two sample portals, the lock that keeps two runs apart, `ogi status`, and what `ogi schedule
install` writes."""
from __future__ import annotations

import datetime as dt
import fcntl
import json

import pytest
import yaml

from conftest import TEST_OVERRIDES, run_ogi
from harvester import schedule

PICK = ("pingtan-county-gbk", "qingdao-hanweb")


def test_default_cadence_follows_the_publishing_season():
    assert schedule.cadence_days({}, dt.datetime(2027, 1, 1)) == 1
    assert schedule.cadence_days({}, dt.datetime(2027, 4, 30)) == 1
    assert schedule.cadence_days({}, dt.datetime(2027, 5, 1)) == 7
    assert schedule.cadence_days({}, dt.datetime(2026, 12, 31)) == 7
    assert schedule.cadence_days({"cadence": "monthly"}, dt.datetime(2027, 2, 1)) == 30
    assert schedule.cadence_days({"cadence": "3"}, dt.datetime(2027, 2, 1)) == 3


@pytest.fixture(scope="module")
def scheduled(sample_registry, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schedule")
    rows = [r for r in yaml.safe_load(sample_registry.read_text(encoding="utf-8"))["portals"] if r["name"] in PICK]
    for row in rows:
        if row["name"] == PICK[0]:
            row["cadence"] = "monthly"
    registry = tmp / "portals.yaml"
    registry.write_text(yaml.safe_dump({"portals": rows}, allow_unicode=True), encoding="utf-8")
    db = tmp / "ogi.db"
    sets = [a for k, v in TEST_OVERRIDES.items() for a in ("--set", f"{k}={v}")]
    before = json.loads(run_ogi("due", "--portals", registry, "--db", db, "--json").stdout)
    ran = run_ogi("--log-level", "WARNING", "run-due", "--portals", registry, "--db", db, *sets)
    return {"registry": registry, "db": db, "before": before, "ran": ran.stdout, "sets": sets}


def due_at(scheduled, when: dt.datetime) -> dict:
    out = run_ogi("due", "--portals", scheduled["registry"], "--db", scheduled["db"], "--json",
                  "--now", when.isoformat()).stdout
    return {r["portal"]: r["due"] for r in json.loads(out)}


def test_never_crawled_portals_are_due_and_run_due_crawls_them(scheduled):
    assert all(r["due"] and r["reason"] == "never crawled" for r in scheduled["before"])
    due_line = [ln for ln in scheduled["ran"].splitlines() if ln.startswith("due: ")][0]
    assert sorted(due_line[5:].split(", ")) == sorted(PICK)
    assert "Crawl summary" in scheduled["ran"]


def test_next_due_follows_each_cadence(scheduled):
    now = schedule.utcnow()
    assert due_at(scheduled, now + dt.timedelta(hours=2)) == {p: False for p in PICK}
    later = due_at(scheduled, now + dt.timedelta(days=8))
    assert later == {PICK[0]: False, PICK[1]: True}       # monthly vs the default (daily or weekly)
    assert due_at(scheduled, now + dt.timedelta(days=31)) == {p: True for p in PICK}


def test_run_due_with_nothing_due_does_nothing(scheduled):
    out = run_ogi("run-due", "--portals", scheduled["registry"], "--db", scheduled["db"],
                  *scheduled["sets"]).stdout
    assert "no portal is due" in out


def test_two_runs_never_overlap(scheduled):
    lock = open(str(scheduled["db"]) + ".run-due.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        future = (schedule.utcnow() + dt.timedelta(days=40)).isoformat()
        out = run_ogi("run-due", "--portals", scheduled["registry"], "--db", scheduled["db"], "--now", future,
                      *scheduled["sets"]).stdout
        assert "another run-due holds" in out
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def test_status_lists_every_portal_and_the_coverage(scheduled):
    out = run_ogi("status", "--portals", scheduled["registry"], "--db", scheduled["db"]).stdout
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.split() and ln.split()[0] in PICK}
    assert set(lines) == set(PICK)
    for line in lines.values():
        assert " finished " in line
    assert "coverage: " in out and "with a report" in out


def test_schedule_install_writes_a_timer_under_flock(scheduled, tmp_path):
    out = run_ogi("schedule", "install", "--kind", "systemd", "--dest", tmp_path, "--portals",
                  scheduled["registry"], "--db", scheduled["db"]).stdout
    service = (tmp_path / "ogi-harvest.service").read_text(encoding="utf-8")
    timer = (tmp_path / "ogi-harvest.timer").read_text(encoding="utf-8")
    assert "flock -n" in service and "run-due" in service and str(scheduled["db"]) in service
    assert "OnCalendar=hourly" in timer and "systemctl --user" in out
    cron = run_ogi("schedule", "install", "--kind", "cron", "--print", "--portals", scheduled["registry"],
                   "--db", scheduled["db"]).stdout
    assert cron.startswith("17 * * * * ") and "flock -n" in cron and "# ogi-harvester" in cron


def test_a_cadence_typo_is_the_registrys_error(tmp_path):
    from harvester.registry import RegistryError, load_portals
    bad = tmp_path / "p.yaml"
    for value in ("biweekly", "nan", "0", "-3"):
        bad.write_text(yaml.safe_dump({"portals": [{"name": "a", "start_url": "http://127.0.0.1/", "cadence": value}]}))
        with pytest.raises(RegistryError, match="cadence"):
            load_portals(bad)
