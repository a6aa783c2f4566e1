"""`ogi`: the one command-line entry point (crawl, due, run-due, status, schedule, parse, reparse, serve,
export, demo, bench).

Each command is a thin shell over a module that does the work; the defaults (data/ogi.db,
data/portals.yaml) apply whenever a flag is left out. Interface fixed by shared CONTRACT.md §5.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from harvester.publish import SERVE_MEMORY_MB

DEFAULT_DB = "data/ogi.db"
DEFAULT_PORTALS = "data/portals.yaml"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--log-level", default="INFO", help="Scrapy/Python log level.")
@click.pass_context
def main(ctx, log_level):
    """ogi-harvester: find, keep, parse and publish 政府信息公开工作年度报告."""
    ctx.ensure_object(dict)
    ctx.obj["log_level"] = log_level.upper()


@main.command()
@click.option("--portals", "portals_file", default=DEFAULT_PORTALS, type=click.Path(),
              help="Registry: CSV with a header, or YAML (a list, or a mapping with `portals`). "
                   "Each portal needs `name` and `start_url`.")
@click.option("--db", "db_path", default=DEFAULT_DB, type=click.Path(), help="SQLite database to write.")
@click.option("--only", multiple=True, help="Crawl only these portal names (repeatable).")
@click.option("--distributed", is_flag=True,
              help="A worker of a distributed run: share the Redis frontier (scrapy-redis) and send what it "
                   "fetches to the run's writer; --portals and --db are not used (the writer's are).")
@click.option("--writer", is_flag=True,
              help="With --distributed: open a run of --portals and be its one writer of --db and its blob "
                   "store; ends when every worker has ended.")
@click.option("--redis-url", default=None, help="Redis URL for --distributed (default: REDIS_URL env).")
@click.option("--jobdir", default=None, type=click.Path(),
              help="Make the crawl resumable: state kept per portal under this folder; rerun to resume.")
@click.option("--concurrent-portals", default=4, help="Portals crawled at the same time.")
@click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Scrapy setting override, e.g. --set AUTOTHROTTLE_ENABLED=False.")
@click.option("--wait/--no-wait", default=True,
              help="When another crawl or reparse is writing the database: wait for it, or exit (75).")
@click.pass_context
def crawl(ctx, portals_file, db_path, only, distributed, writer, redis_url, jobdir, concurrent_portals,
          overrides, wait):
    """Crawl the portals in the registry, store every body, parse reports, rebuild `reports`."""
    from harvester.crawl import run_crawl
    from harvester.db import DatabaseBusy
    if writer and not distributed:
        raise click.UsageError("--writer is the writer of a distributed run: use it with --distributed")
    if distributed:
        return _distributed(ctx, portals_file, db_path, only, writer, redis_url, concurrent_portals,
                            dict(o.split("=", 1) for o in overrides), wait)
    try:
        summary = run_crawl(portals_file, db_path, only=only, overrides=dict(o.split("=", 1) for o in overrides),
                            log_level=ctx.obj["log_level"], concurrent_portals=concurrent_portals,
                            jobdir=jobdir, wait=wait)
    except DatabaseBusy as exc:
        click.echo(f"ogi crawl: {exc}", err=True)
        sys.exit(75)          # EX_TEMPFAIL: try again later
    click.echo(summary.render())
    sys.exit(0 if summary.ok else 1)


def _distributed(ctx, portals_file, db_path, only, writer, redis_url, concurrent_portals, overrides, wait):
    """`ogi crawl --distributed [--writer]` (harvester.distributed)."""
    from harvester import distributed
    from harvester.db import DatabaseBusy
    try:
        if writer:
            summary = distributed.run_writer(portals_file, db_path, only=only, redis_url=redis_url,
                                             overrides=overrides, log_level=ctx.obj["log_level"], wait=wait)
        else:
            result = distributed.run_worker(redis_url, overrides=overrides, log_level=ctx.obj["log_level"],
                                            concurrent_portals=concurrent_portals)
    except DatabaseBusy as exc:
        click.echo(f"ogi crawl: {exc}", err=True)
        sys.exit(75)
    except RuntimeError as exc:
        click.echo(f"ogi crawl: {exc}", err=True)
        sys.exit(2)
    if writer:
        click.echo(summary.render())
        d = summary.distributed
        click.echo(f"distributed run {d['run']}: {len(d['workers'])} workers; pages fetched by worker: "
                   + json.dumps(d["fetched_by"], sort_keys=True))
        if d["leftover"]:
            click.echo("left unfetched (every worker ended or died): " + json.dumps(d["leftover"]))
        sys.exit(0 if summary.ok else 1)
    click.echo(f"worker {result['worker']} of run {result['run']}:")
    for name, r in result["portals"].items():
        click.echo(f"  {name:<28} fetched {r['fetched']:>5}  ended: {r['close'] or r['reason']}")
    click.echo("fetched " + str(sum(r["fetched"] for r in result["portals"].values())))
    sys.exit(0 if all(r["reason"] == "finished" for r in result["portals"].values()) else 1)


@main.command()
@click.option("--portals", "portals_file", default=DEFAULT_PORTALS, type=click.Path())
@click.option("--db", "db_path", default=DEFAULT_DB, type=click.Path())
@click.option("--now", default=None, help="Pretend it is this ISO date/time (UTC), e.g. 2027-01-15.")
@click.option("--json", "as_json", is_flag=True)
def due(portals_file, db_path, now, as_json):
    """Which portals are due for a crawl, and why."""
    from harvester import schedule
    from harvester.db import open_db
    from harvester.registry import load_portals
    rows = schedule.due(load_portals(portals_file), open_db(db_path), schedule.parse_when(now))
    if as_json:
        click.echo(schedule.due_json(rows))
        return
    for r in rows:
        click.echo(f"{'DUE ' if r['due'] else 'wait'} {r['portal']:<28} {r['reason']}")


@main.command("run-due")
@click.option("--portals", "portals_file", default=DEFAULT_PORTALS, type=click.Path())
@click.option("--db", "db_path", default=DEFAULT_DB, type=click.Path())
@click.option("--now", default=None, help="Pretend it is this ISO date/time (UTC).")
@click.option("--concurrent-portals", default=4)
@click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE")
@click.pass_context
def run_due(ctx, portals_file, db_path, now, concurrent_portals, overrides):
    """Crawl the portals that are due (what the timer or cron line calls); never two at once."""
    from harvester import schedule
    from harvester.crawl import run_crawl
    from harvester.db import open_db
    from harvester.registry import load_portals
    with schedule.exclusive(db_path) as mine:
        if not mine:
            click.echo(f"another run-due holds {db_path}.run-due.lock; nothing started")
            return
        names = [r["portal"] for r in schedule.due(load_portals(portals_file), open_db(db_path),
                                                    schedule.parse_when(now)) if r["due"]]
        if not names:
            click.echo("no portal is due")
            return
        click.echo(f"due: {', '.join(names)}")
        summary = run_crawl(portals_file, db_path, only=names, overrides=dict(o.split("=", 1) for o in overrides),
                            log_level=ctx.obj["log_level"], concurrent_portals=concurrent_portals)
        click.echo(summary.render())
        sys.exit(0 if summary.ok else 1)


@main.command()
@click.option("--portals", "portals_file", default=DEFAULT_PORTALS, type=click.Path())
@click.option("--db", "db_path", default=DEFAULT_DB, type=click.Path(exists=True))
@click.option("--now", default=None, help="Pretend it is this ISO date/time (UTC).")
def status(portals_file, db_path, now):
    """Per portal: last run, reports against the run before, errors by kind, lists short, next due."""
    from harvester import schedule
    from harvester.registry import load_portals
    click.echo(schedule.status(load_portals(portals_file), db_path, schedule.parse_when(now)))


@main.group("schedule")
def schedule_group():
    """Put `ogi run-due` on the system's scheduler."""


@schedule_group.command("install")
@click.option("--kind", type=click.Choice(["systemd", "cron"]), default="systemd")
@click.option("--portals", "portals_file", default=DEFAULT_PORTALS, type=click.Path())
@click.option("--db", "db_path", default=DEFAULT_DB, type=click.Path())
@click.option("--dest", default=None, type=click.Path(), help="Folder for the systemd units "
              "(default ~/.config/systemd/user).")
@click.option("--print", "print_only", is_flag=True, help="Print what would be installed; change nothing.")
def schedule_install(kind, portals_file, db_path, dest, print_only):
    """An hourly systemd user timer (or a crontab line) running `ogi run-due` under flock."""
    from harvester import schedule
    click.echo(schedule.install(kind, portals_file, db_path, dest, print_only))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one object per file (the contract).")
@click.option("--text/--no-text", default=False, help="Include the normalised full text.")
@click.option("--workers", default=1, help="Parse in this many worker processes.")
def parse(files, as_json, text, workers):
    """Parse report files (HTML, PDF, DOCX, DOC, WPS, TXT, images) into records.

    A file whose name starts with '-' goes after '--': ogi parse --json -- -report.html"""
    from harvester.parsing import parse_files
    for record in parse_files(files, workers=workers):
        if not text:
            record.pop("text", None)
        if as_json:
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        sys.stdout.flush()


@main.command()
@click.option("--db", "db_path", default=DEFAULT_DB, type=click.Path(exists=True))
@click.option("--workers", default=2, help="Parser worker processes.")
@click.option("--stale", is_flag=True, help="Only bodies parsed by another parser version.")
def reparse(db_path, workers, stale):
    """Re-parse stored bodies (no recrawl); rewrite what changed and rebuild the derived tables."""
    from harvester.reports import reparse_all
    click.echo(reparse_all(db_path, workers=workers, stale_only=stale))


@main.command()
@click.option("--db", "db_path", default=DEFAULT_DB, type=click.Path(exists=True))
@click.option("--port", default=8001)
@click.option("--host", default="127.0.0.1")
@click.option("--memory-limit-mb", default=SERVE_MEMORY_MB, show_default=True,
              help="Memory ceiling of the server process in MB (0: none); see README, Serving.")
def serve(db_path, port, host, memory_limit_mb):
    """Serve the database read-only with Datasette."""
    from harvester.publish import serve as serve_db
    serve_db(db_path, port=port, host=host, memory_mb=memory_limit_mb)


@main.command()
@click.option("--db", "db_path", default=DEFAULT_DB, type=click.Path(exists=True))
@click.option("--out", "out_dir", default="data/export", type=click.Path())
@click.option("--format", "formats", multiple=True, default=("csv", "jsonl", "parquet"))
def export(db_path, out_dir, formats):
    """Write CSV, JSON Lines and Parquet of the main tables with a datapackage.json."""
    from harvester.export import export as do_export
    click.echo(do_export(db_path, out_dir, formats=formats))


@main.command()
@click.option("--db", "db_path", default=DEFAULT_DB, type=click.Path())
@click.option("--port", default=8001, help="Datasette port.")
@click.option("--portal-port", default=0, help="Port for the sample portals (0 = any free port).")
@click.option("--no-serve", is_flag=True, help="Stop after building the database.")
@click.pass_context
def demo(ctx, db_path, port, portal_port, no_serve):
    """Start the bundled sample portals, crawl them, build the database, serve it."""
    from harvester.demo import run_demo
    # The demo is for reading the summary, not Scrapy's per-portal stats: quiet unless asked.
    explicit = ctx.parent.get_parameter_source("log_level") == click.core.ParameterSource.COMMANDLINE
    run_demo(db_path, port=port, portal_port=portal_port, serve=not no_serve,
             log_level=ctx.obj["log_level"] if explicit else "WARNING")


@main.group()
def bench():
    """Benchmarks: speed and memory, side by side with a baseline."""


@bench.command("parse")
@click.argument("files", nargs=-1, type=click.Path())
def bench_parse(files):
    """Documents/s per format and peak RSS, with pdftotext as the floor."""
    from harvester.bench_parse import bench_parse as run
    run(files)


@bench.command("crawl")
@click.option("--seconds", default=20, help="How long scrapy bench runs.")
def bench_crawl(seconds):
    """Pages/s crawling the sample portals, next to `scrapy bench`."""
    from harvester.bench_crawl import bench_crawl as run
    run(seconds)


@bench.command("render")
@click.option("--pages", default=200, help="List pages only a browser can read.")
def bench_render_cmd(pages):
    """Summed RSS/PSS of the crawl's process tree (Chromium included) against pages rendered."""
    from harvester.bench_render import bench_render
    bench_render(pages)


@bench.command("recrawl")
def bench_recrawl():
    """Requests and bytes of a second crawl of unchanged portals, as a fraction of the first."""
    from harvester.bench_crawl import bench_recrawl as run
    run()


@bench.command("distributed")
@click.option("--workers", default="1,2,4", help="Worker counts to run, comma-separated.")
@click.option("--latency", default=0.1, help="Seconds the bench portal takes to answer each request.")
@click.option("--per-worker", default=4, help="Requests each worker has in flight (CONCURRENT_REQUESTS_PER_DOMAIN).")
@click.option("--redis-url", default=None, help="Use this Redis (default: start redis-server on a free port).")
def bench_distributed_cmd(workers, latency, per_worker, redis_url):
    """Pages/min and efficiency of 1, 2, 4 distributed workers and one writer on a slow portal."""
    from harvester.bench_crawl import bench_distributed as run
    run(tuple(int(n) for n in workers.split(",")), latency, per_worker, redis_url)


@bench.command("site")
@click.option("--db", "db_path", default=None, type=click.Path(),
              help="Database to time (default: a synthetic scale database under /tmp/ogi-bench).")
@click.option("--build", "n_reports", default=0, help="(Re)build a synthetic database with this many reports.")
@click.option("--repeat", default=3, help="Timings per page (the median is shown).")
def bench_site_cmd(db_path, n_reports, repeat):
    """Datasette response times on a national-scale synthetic database (target < 500 ms)."""
    from harvester.bench_site import run
    run(db_path, n_reports=n_reports, repeat=repeat)


if __name__ == "__main__":
    main()
