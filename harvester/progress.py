"""Progress of long commands: a live table on a terminal (rich), quiet periodic lines otherwise
(cron, CI, pipes), so logs stay line-oriented.

`CrawlProgress` is a Scrapy extension: every portal's crawler reports into one shared board, drawn
every OGI_PROGRESS_INTERVAL seconds (a line per minute when stderr is not a terminal).
`counter(total, label)` is the same for loops over documents (`ogi reparse`).
"""
from __future__ import annotations

import sys
import time

from scrapy import signals

_BOARD: dict[str, dict] = {}       # portal -> counters, shared by every crawler in the process
_STARTED = [0.0]
_DRAWER = [None]


def _is_tty() -> bool:
    return sys.stderr.isatty()


def _summary_line() -> str:
    pages = sum(b["pages"] for b in _BOARD.values())
    reports = sum(b["reports"] for b in _BOARD.values())
    errors = sum(b["errors"] for b in _BOARD.values())
    running = sum(1 for b in _BOARD.values() if not b["done"])
    elapsed = max(1e-6, time.monotonic() - _STARTED[0])
    return (f"progress: {running}/{len(_BOARD)} portals running, {pages} pages, {reports} report bodies, "
            f"{errors} errors, {pages / elapsed:.1f} pages/s, {elapsed:.0f} s")


class _Drawer:
    """One drawer per process: rich.live on a terminal, a plain line every minute otherwise."""

    def __init__(self, interval: float):
        from twisted.internet import task
        self.live = None
        if _is_tty():
            from rich.console import Console
            from rich.live import Live
            self.live = Live(self._table(), console=Console(stderr=True), refresh_per_second=2, transient=True)
            self.live.start()
        self.last_line = time.monotonic()
        self.loop = task.LoopingCall(self.draw)
        self.loop.start(interval if self.live else min(interval, 60.0), now=False)

    def _table(self):
        from rich.table import Table
        table = Table(title=_summary_line() if _BOARD else "starting…", expand=False)
        for column in ("portal", "pages", "reports", "errors", "pages/s", "state"):
            table.add_column(column, justify="left" if column in ("portal", "state") else "right")
        now = time.monotonic()
        for name, b in list(_BOARD.items())[-30:]:
            rate = b["pages"] / max(1e-6, (b["ended"] or now) - b["started"])
            table.add_row(name, str(b["pages"]), str(b["reports"]), str(b["errors"]), f"{rate:.1f}",
                          "done" if b["done"] else "crawling")
        return table

    def draw(self):
        if self.live is not None:
            self.live.update(self._table())
        elif time.monotonic() - self.last_line >= 59.0:
            self.last_line = time.monotonic()
            print(_summary_line(), file=sys.stderr, flush=True)

    def stop(self):
        if self.loop.running:
            self.loop.stop()
        if self.live is not None:
            self.live.stop()
        print(_summary_line().replace("progress:", "crawled:"), file=sys.stderr, flush=True)


class CrawlProgress:
    def __init__(self, crawler):
        self.crawler = crawler
        self.interval = crawler.settings.getfloat("OGI_PROGRESS_INTERVAL", 1.0)
        self.expected = crawler.settings.getint("OGI_PROGRESS_PORTALS", 0)   # set by harvester.crawl
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)
        crawler.signals.connect(self.response, signal=signals.response_received)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _entry(self, spider) -> dict:
        name = getattr(spider, "portal_name", spider.name)
        return _BOARD.setdefault(name, {"pages": 0, "reports": 0, "errors": 0, "done": False,
                                        "started": time.monotonic(), "ended": None})

    def opened(self, spider):
        if not _STARTED[0]:
            _STARTED[0] = time.monotonic()
        self._entry(spider)
        if _DRAWER[0] is None:
            _DRAWER[0] = _Drawer(self.interval)

    def response(self, response, request, spider):
        entry = self._entry(spider)
        entry["pages"] += 1
        counts = getattr(spider, "counts", {})
        entry["reports"], entry["errors"] = counts.get("reports", 0), counts.get("errors", 0)

    def closed(self, spider, reason):
        entry = self._entry(spider)
        counts = getattr(spider, "counts", {})
        entry["reports"], entry["errors"] = counts.get("reports", 0), counts.get("errors", 0)
        entry["done"], entry["ended"] = True, time.monotonic()
        finished = sum(1 for b in _BOARD.values() if b["done"])
        if finished >= max(self.expected, len(_BOARD)) and _DRAWER[0] is not None:
            _DRAWER[0].stop()
            _DRAWER[0] = None


class counter:
    """`with counter(n, "re-parsed") as tick: ... tick()` (or `tick.update(done)` with a running
    total): a rich bar on a terminal; otherwise a line at each tenth of the total or each minute,
    whichever comes first, and one when it ends, so cron mail and CI logs stay short."""

    def __init__(self, total: int, label: str, unit: str = ""):
        self.total, self.label, self.unit, self.done = total, label, unit, 0
        self.started = self.last = time.monotonic()
        self.step = max(1, total // 10) if total else 500
        self.next_line = self.step
        self.bar = None

    def __enter__(self):
        if _is_tty():
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                _rate_column(), TimeElapsedColumn(), TimeRemainingColumn(),
                                console=_console(), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=self.total or None)
        return self

    def __call__(self, n: int = 1):
        self.update(self.done + n)

    def update(self, done: int):
        self.done = done
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done)
            return
        now = time.monotonic()
        if self.done >= self.next_line or now - self.last >= 60:
            self.last = now
            while self.next_line <= self.done:
                self.next_line += self.step
            print(self._line(now), file=sys.stderr, flush=True)

    def _line(self, now: float, final: bool = False) -> str:
        elapsed = max(1e-6, now - self.started)
        rate = self.done / elapsed
        unit = f" {self.unit}" if self.unit else ""
        of = f"/{self.total:,}" if self.total else ""
        if final:
            return f"{self.label}: {self.done:,}{of}{unit} in {elapsed:.1f} s, {rate:,.1f}/s"
        eta = f", ETA {(self.total - self.done) / rate:.0f} s" if self.total and rate else ""
        return f"{self.label}: {self.done:,}{of}{unit}, {rate:,.1f}/s{eta}"

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        else:
            print(self._line(time.monotonic(), final=True), file=sys.stderr, flush=True)


def _console():
    from rich.console import Console
    return Console(stderr=True)


def _rate_column():
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task):
            return Text(f"{task.speed:,.1f}/s" if task.speed else "")
    return Rate()
