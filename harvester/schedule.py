"""When each portal is due, and what the harvest looks like: `ogi due`, `ogi run-due`, `ogi status`,
`ogi schedule install`.

The schedule lives in the database (`schedule`: one row per portal, written after every run); the
clock is the system's scheduler (a systemd timer or a cron line calling `ogi run-due` hourly), not
a daemon of ours. `run-due` takes an exclusive lock next to the database, so two runs never overlap
even when a timer fires while the last run is still going.

Default cadence: daily from 1 January to 30 April, when reports are published and corrected (the
regulation's deadlines fall on 31 January and 31 March), weekly for the rest of the year. A portal's
registry row may say `cadence: daily | weekly | monthly | <days>`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import shlex
import shutil
import sys
from pathlib import Path

from harvester import db as dbmod

NAMED = {"daily": 1, "weekly": 7, "monthly": 30}
PUBLISHING_SEASON = ((1, 1), (4, 30))     # month/day bounds, inclusive


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def parse_when(text: str | None) -> dt.datetime:
    """An ISO date or datetime (UTC when no zone is given); now when empty."""
    if not text:
        return utcnow()
    when = dt.datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def cadence_days(portal: dict, on: dt.datetime) -> float:
    value = portal.get("cadence")
    if value not in (None, ""):
        if str(value).strip().lower() in NAMED:
            return NAMED[str(value).strip().lower()]
        return float(value)
    (m0, d0), (m1, d1) = PUBLISHING_SEASON
    return 1 if (m0, d0) <= (on.month, on.day) <= (m1, d1) else 7


def cadence_label(portal: dict, on: dt.datetime) -> str:
    days = cadence_days(portal, on)
    label = {1: "daily", 7: "weekly", 30: "monthly"}.get(days, f"every {days:g} days")
    return label if portal.get("cadence") not in (None, "") else f"{label} (season default)"


def record_run(database, portal: dict, run: dict) -> None:
    """After a run: when it started, how it ended, and when the portal is next due."""
    started = parse_when(run["started"])
    next_due = started + dt.timedelta(days=cadence_days(portal, started))
    if run["status"] not in ("finished", "dropped"):
        next_due = started + dt.timedelta(hours=1)      # a failed or killed run is retried soon
    database["schedule"].upsert({
        "portal": portal["name"], "cadence": cadence_label(portal, started), "last_run_id": run["id"],
        "last_started": run["started"], "last_status": run["status"],
        "next_due": next_due.isoformat()}, pk="portal")


def due(portals: list[dict], database, now: dt.datetime) -> list[dict]:
    """Every portal with whether it is due at `now` and why."""
    rows = {r["portal"]: r for r in database["schedule"].rows} if database["schedule"].exists() else {}
    out = []
    for portal in portals:
        row = rows.get(portal["name"])
        if row is None:
            out.append({"portal": portal["name"], "due": True, "next_due": None, "reason": "never crawled"})
            continue
        next_due = parse_when(row["next_due"])
        # The cadence may have changed since (season turned, registry edited): recompute from the last start.
        last = parse_when(row["last_started"])
        if row["last_status"] in ("finished", "dropped"):
            next_due = min(next_due, last + dt.timedelta(days=cadence_days(portal, now)))
        is_due = now >= next_due
        reason = (f"last run {row['last_status']} at {row['last_started']}; "
                  f"{cadence_label(portal, now)}" + ("" if is_due else f"; next at {next_due.isoformat()}"))
        out.append({"portal": portal["name"], "due": is_due, "next_due": next_due.isoformat(), "reason": reason})
    return out


@contextlib.contextmanager
def exclusive(db_path: str | Path):
    """One `run-due` at a time per database; yields False when another holds the lock."""
    with dbmod.file_lock(str(db_path) + ".run-due.lock", "ogi run-due", wait=False) as holder:
        yield holder is None


# ---------------------------------------------------------------------------------------- status
def status(portals: list[dict], db_path: str | Path, now: dt.datetime) -> str:
    """Per portal: last run, status, reports against the run before, errors by kind, lists short of
    their stated totals, next due; then the coverage of agencies × years."""
    database = dbmod.open_db(db_path)
    when = {d["portal"]: d for d in due(portals, database, now)}
    head = (f"{'portal':<26} {'last run':<20} {'status':<9} {'reports':>9} {'lists short':>11} "
            f"{'next due':<20} errors by kind")
    lines = [head, "-" * len(head)]
    for portal in portals:
        runs = list(database.query("select * from crawl_runs where portal = ? order by id desc limit 2",
                                   [portal["name"]]))
        if not runs:
            lines.append(f"{portal['name'][:26]:<26} {'never':<20} {'-':<9} {'-':>9} {'-':>11} {'now':<20}")
            continue
        last, before = runs[0], (runs[1] if len(runs) > 1 else None)
        reports = f"{last['reports'] or 0}" + (f"/{before['reports'] or 0}" if before else "")
        kinds = ", ".join(f"{r['kind']} {r['n']}" for r in database.query(
            "select kind, count(*) n from errors where run_id = ? group by kind order by n desc, kind",
            [last["id"]]))
        short = f"{last['lists_incomplete'] or 0}/{last['lists_stated'] or 0}"
        next_due = when[portal["name"]]
        due_text = "now" if next_due["due"] else (next_due["next_due"] or "")[:16]
        lines.append(f"{portal['name'][:26]:<26} {(last['started'] or '')[:19]:<20} {last['status'][:9]:<9} "
                     f"{reports:>9} {short:>11} {due_text:<20} {kinds or '-'}")
    lines.append("(reports: this run / the run before; lists short: lists with fewer records found than "
                 "stated / lists stating a total)")
    lines.append("")
    lines.append(coverage_line(database))
    versions = list(database.query(
        "select p.parser_version v, count(distinct r.id) n from reports r join parses p on p.sha256 = r.canonical_sha256 "
        "group by p.parser_version order by n desc"))
    if versions:
        lines.append("reports by parser version: " + ", ".join(f"{r['v'] or '?'}: {r['n']}" for r in versions))
    return "\n".join(lines)


def coverage_line(database) -> str:
    if not database["reports"].exists() or not database["reports"].count:
        return "coverage: no reports yet"
    # Only attributed reports (agency and year known) count towards agencies × years.
    agencies, have, y0, y1 = database.execute(
        "select count(distinct agency), count(distinct agency || '|' || year), min(year), max(year) "
        "from reports where agency is not null and year is not null").fetchone()
    if not agencies:
        return "coverage: no attributed reports yet"
    cells = agencies * (y1 - y0 + 1)
    return (f"coverage: {agencies} agencies × {y1 - y0 + 1} years ({y0}–{y1}): {have} with a report, "
            f"{cells - have} without ({have / cells:.0%} covered)")


# ---------------------------------------------------------------------------------------- install
def install_command(portals_file: str, db_path: str) -> list[str]:
    ogi = Path(sys.executable).with_name("ogi")
    program = [str(ogi)] if ogi.exists() else [sys.executable, "-m", "harvester.cli"]
    return [*program, "run-due", "--portals", str(Path(portals_file).resolve()),
            "--db", str(Path(db_path).resolve())]


def install(kind: str, portals_file: str, db_path: str, dest: str | None, print_only: bool) -> str:
    """Write a systemd user timer (hourly `run-due`) or add a crontab line; both wrapped in flock
    so a slow run and the next tick never overlap (run-due also locks by itself)."""
    command = install_command(portals_file, db_path)
    lock = str(Path(db_path).resolve()) + ".run-due.lock"
    flock = shutil.which("flock") or "flock"
    line = f"{flock} -n {shlex.quote(lock + '.outer')} " + " ".join(shlex.quote(c) for c in command)
    workdir = str(Path.cwd())
    if kind == "cron":
        tag = f"# ogi-harvester {Path(db_path).resolve()}"      # one line per database
        entry = (f"17 * * * * cd {shlex.quote(workdir)} && {line} >> "
                 f"{shlex.quote(str(Path(db_path).resolve()) + '.run-due.log')} 2>&1  {tag}")
        if print_only:
            return entry
        import subprocess
        current = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
        if current.returncode != 0 and "no crontab" not in (current.stderr or "").lower():
            raise RuntimeError(f"crontab -l failed ({current.stderr.strip()}); nothing changed")
        existing = [ln for ln in (current.stdout if current.returncode == 0 else "").splitlines()
                    if not ln.endswith(tag)]
        subprocess.run(["crontab", "-"], input="\n".join([*existing, entry]) + "\n", text=True, check=True)
        return f"crontab line installed:\n{entry}"
    service = (f"[Unit]\nDescription=ogi-harvester: crawl the portals that are due\n\n[Service]\nType=oneshot\n"
               f"WorkingDirectory={workdir}\nExecStart={line}\nNice=10\n")
    timer = ("[Unit]\nDescription=ogi-harvester: hourly check for due portals\n\n[Timer]\nOnCalendar=hourly\n"
             "RandomizedDelaySec=600\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n")
    if print_only:
        return f"# ogi-harvest.service\n{service}\n# ogi-harvest.timer\n{timer}"
    target = Path(dest or Path.home() / ".config" / "systemd" / "user")
    target.mkdir(parents=True, exist_ok=True)
    (target / "ogi-harvest.service").write_text(service, encoding="utf-8")
    (target / "ogi-harvest.timer").write_text(timer, encoding="utf-8")
    return (f"wrote {target / 'ogi-harvest.service'} and {target / 'ogi-harvest.timer'}\n"
            "enable with: systemctl --user daemon-reload && systemctl --user enable --now ogi-harvest.timer")


def due_json(rows: list[dict]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2)
