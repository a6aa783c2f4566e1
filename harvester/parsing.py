"""Running the pure parsers in worker processes, so a slow PDF or OCR never stalls a crawl and a
crash in one document never takes the batch down.

`WorkerPool` is the one owner of parser processes (crawl, `ogi parse --workers`, `ogi reparse`):
  * each worker has a memory ceiling (RLIMIT_DATA) and each document a CPU-time limit; a document
    over either becomes a record with an `over_limit` error naming the limit;
  * a worker that dies (OOM killer, a segfault in a native library) breaks Python's pool: the pool
    is rebuilt, and every document that was in flight is parsed again alone in a fresh process, so
    the one that kills its process is recorded (`worker_died`) and the others are parsed;
  * workers die with their parent (PR_SET_PDEATHSIG), so a killed crawl leaves no orphans.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import resource
import signal
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from typing import Iterable, Iterator

from parsers.api import empty_record, parse_bytes, parse_file

DEFAULT_MEMORY_MB = int(os.environ.get("OGI_PARSE_MEMORY_MB", "3072"))
DEFAULT_CPU_SECONDS = int(os.environ.get("OGI_PARSE_CPU_SECONDS", "240"))


class OverLimit(Exception):
    pass


def _exit_with(owner_pid: int) -> None:
    """Exit when the process that owns the pool exits. A forkserver worker's parent is the
    forkserver, which itself waits for its workers, and a worker holds both ends of its own task
    pipe: without this, both linger forever after the owner is killed."""
    try:
        fd = os.pidfd_open(owner_pid)
    except (AttributeError, OSError):
        fd = None

    def watch():
        import select
        if fd is not None:
            select.select([fd], [], [])
        else:
            while True:
                time.sleep(1.0)
                try:
                    os.kill(owner_pid, 0)
                except ProcessLookupError:
                    break
        os._exit(1)
    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


def _worker_init(memory_mb: int, owner_pid: int) -> None:
    try:   # Linux: die with the forkserver too
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    _exit_with(owner_pid)
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (limit, resource.getrlimit(resource.RLIMIT_DATA)[1]))
        except (ValueError, OSError):
            pass

    def over_cpu(signum, frame):
        raise OverLimit(f"over the per-document CPU-time limit ({DEFAULT_CPU_SECONDS} s, OGI_PARSE_CPU_SECONDS)")
    signal.signal(signal.SIGXCPU, over_cpu)


def _limited(fn, *args) -> dict:
    """Run one parse under the CPU-time limit (counted from now) and turn limits into records."""
    used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    soft_set = False
    try:
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        resource.setrlimit(resource.RLIMIT_CPU, (int(used) + DEFAULT_CPU_SECONDS, hard))
        soft_set = True
    except (ValueError, OSError):
        pass
    try:
        return fn(*args)
    except OverLimit as exc:
        return _error_record(args, "over_limit", str(exc))
    except MemoryError:
        return _error_record(args, "over_limit", f"over the parser's memory limit ({DEFAULT_MEMORY_MB} MB, "
                                                 "OGI_PARSE_MEMORY_MB)")
    finally:
        if soft_set:
            resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.getrlimit(resource.RLIMIT_CPU)[1]))


def _error_record(args, kind: str, message: str) -> dict:
    record = empty_record()
    if args and isinstance(args[0], str):
        record = {"file": args[0], **record}
    record["errors"].append({"kind": kind, "message": message})
    return record


class WorkerPool:
    """A process pool that survives its workers dying (see the module docstring)."""

    def __init__(self, workers: int, memory_mb: int = DEFAULT_MEMORY_MB):
        self.workers = max(1, workers)
        self.memory_mb = memory_mb
        self._lock = threading.RLock()    # submit replaces a broken pool while holding it
        self._pool = self._new(self.workers)
        self.rebuilt = 0

    def _new(self, n: int) -> cf.ProcessPoolExecutor:
        # forkserver: workers inherit neither the reactor, the browser nor open sqlite handles.
        return cf.ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("forkserver"),
                                      initializer=_worker_init, initargs=(self.memory_mb, os.getpid()))

    def submit(self, fn, *args) -> cf.Future:
        """A future that always ends with a record, never with BrokenProcessPool."""
        outer: cf.Future = cf.Future()
        with self._lock:
            pool = self._pool
            try:
                inner = pool.submit(_limited, fn, *args)
            except BrokenProcessPool:
                self._replace(pool)
                inner = self._pool.submit(_limited, fn, *args)

        def done(f: cf.Future):
            exc = f.exception()
            if exc is None:
                outer.set_result(f.result())
            elif isinstance(exc, BrokenProcessPool):
                # Not here: this runs in the broken pool's own thread, which may hold its locks.
                threading.Thread(target=self._recover, args=(pool, outer, fn, args), daemon=True).start()
            else:
                outer.set_result(_error_record(args, "internal", repr(exc)))
        inner.add_done_callback(done)
        return outer

    def _replace(self, broken: cf.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = self._new(self.workers)
                self.rebuilt += 1
                broken.shutdown(wait=False, cancel_futures=True)

    def _recover(self, broken, outer: cf.Future, fn, args) -> None:
        self._replace(broken)
        self._alone(outer, fn, args)

    def _alone(self, outer: cf.Future, fn, args) -> None:
        """Parse one document in a process of its own: if that process dies too, it is the culprit."""
        solo = self._new(1)
        try:
            outer.set_result(solo.submit(_limited, fn, *args).result())
        except BrokenProcessPool:
            outer.set_result(_error_record(args, "worker_died", "the parser process died on this document "
                                           "(killed by the OOM killer or a crash in a native library)"))
        except Exception as exc:  # noqa: BLE001 - a record whatever happens
            outer.set_result(_error_record(args, "internal", repr(exc)))
        finally:
            solo.shutdown(wait=False)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)


def _safe_parse_file(path: str) -> dict:
    try:
        return parse_file(path)
    except (OverLimit, MemoryError):
        raise                     # named by _limited
    except BaseException as exc:  # noqa: BLE001 - one line per file, whatever happens
        return _error_record((path,), "internal", repr(exc))


def parse_files(files: Iterable[str], workers: int = 1) -> Iterator[dict]:
    """Yield one record per file, in the order given."""
    files = [str(f) for f in files]
    if workers <= 1 or len(files) <= 1:
        for f in files:
            yield _safe_parse_file(f)
        return
    pool = WorkerPool(workers)
    try:
        # A bounded window of futures keeps memory flat on long lists while keeping order.
        window, pending = workers * 4, []
        for f in files:
            pending.append(pool.submit(_safe_parse_file, f))
            if len(pending) >= window:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()
    finally:
        pool.shutdown(wait=False)


def safe_parse_bytes(data: bytes, filename: str | None, media_type: str | None) -> dict:
    try:
        return parse_bytes(data, filename=filename, media_type=media_type)
    except (OverLimit, MemoryError):
        raise
    except BaseException as exc:  # noqa: BLE001
        record = empty_record()
        record["errors"].append({"kind": "internal", "message": repr(exc)})
        return record
