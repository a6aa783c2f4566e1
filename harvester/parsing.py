"""Running the pure parsers in worker processes, so a slow PDF or OCR never stalls a crawl
and a crash in one document never takes the batch down."""
from __future__ import annotations

import concurrent.futures as cf
from typing import Iterable, Iterator

from parsers.api import empty_record, parse_bytes, parse_file


def _safe_parse_file(path: str) -> dict:
    try:
        return parse_file(path)
    except BaseException as exc:  # noqa: BLE001 - one line per file, whatever happens
        record = {"file": path, **empty_record()}
        record["errors"].append({"kind": "internal", "message": repr(exc)})
        return record


def parse_files(files: Iterable[str], workers: int = 1) -> Iterator[dict]:
    """Yield one record per file, in the order given."""
    files = [str(f) for f in files]
    if workers <= 1 or len(files) <= 1:
        for f in files:
            yield _safe_parse_file(f)
        return
    with cf.ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_safe_parse_file, files)


def safe_parse_bytes(data: bytes, filename: str | None, media_type: str | None) -> dict:
    try:
        return parse_bytes(data, filename=filename, media_type=media_type)
    except BaseException as exc:  # noqa: BLE001
        record = empty_record()
        record["errors"].append({"kind": "internal", "message": repr(exc)})
        return record
