"""`ogi bench parse [FILES]`: parsing speed per format and peak memory, next to pdftotext.

What it is for: documents per second for each format on one core (the whole `parse_bytes`
pipeline: extraction, tables, meta, sections), repeated until each format has run long enough to
time, split into extraction / table parsing / the rest, and `pdftotext` on the same PDFs in the
same run as the floor a PDF parser cannot beat. The comparison is made in one process model at a
time, never across: ogi in one process over all files against pdftotext's time per file less its
own start-up (measured on an empty one-page PDF: pdftotext cannot read several files in one
process), and both started afresh for every file; each in wall time and in CPU time (steadier
when other jobs share the machine). Scans are timed per page of OCR.
It prints one side-by-side table and returns the figures as a dict.

What it must never do: write anywhere, use the network, or change the parser's behaviour.
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from parsers.api import parse_bytes

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = ROOT / "harvester" / "sample_portals" / "docs"
CORPUS_DOCS = ROOT.parent / "shared" / "corpus" / "docs"
SUFFIXES = {".pdf", ".html", ".htm", ".docx", ".txt"}
MIN_SECONDS = 1.0          # each timing runs at least this long (small sets are repeated)
MAX_ROUNDS = 200
REPEATS = 5                # timings per format; the median is reported (a shared machine is noisy)


def default_files() -> list[Path]:
    for folder in (SAMPLE_DOCS, CORPUS_DOCS):
        if folder.is_dir():
            files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
            if files:
                return files
    return []


def _fmt_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return "html" if suffix == "htm" else suffix


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (pdftotext, fresh ogi processes):
    on a shared machine CPU time is the steadier measure of work, wall time the one users wait."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _time_rounds(fn, items, min_seconds=MIN_SECONDS) -> tuple[int, float, float]:
    """Run fn over items repeatedly until min_seconds have passed; (documents, seconds, CPU seconds)."""
    done, start, cpu0, rounds = 0, time.perf_counter(), _cpu(), 0
    while True:
        for item in items:
            fn(item)
            done += 1
        rounds += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds or rounds >= MAX_ROUNDS:
            return done, elapsed, _cpu() - cpu0


def _median_timing(fn, items, min_seconds=MIN_SECONDS, repeats=REPEATS) -> dict:
    """`repeats` timings of fn over items; the median one, with the spread of docs/s."""
    runs = []
    for _ in range(repeats):
        n, secs, cpu = _time_rounds(fn, items, min_seconds)
        runs.append((n / secs, n, secs, cpu))
    runs.sort()
    rate, n, secs, cpu = runs[len(runs) // 2]
    return {"files": len(items), "parsed": n, "seconds": secs, "cpu_seconds": cpu, "docs_per_s": rate,
            "docs_per_s_min": runs[0][0], "docs_per_s_max": runs[-1][0], "repeats": repeats}


def _pdftotext(path: Path) -> None:
    subprocess.run(["pdftotext", "-layout", str(path), "-"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False, timeout=120)


# One blank page: what pdftotext costs before any real document (exec, linking, poppler's start-up).
EMPTY_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
             b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
             b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
             b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _pdftotext_startup() -> dict:
    """pdftotext's time on an empty page: its start-up, to take out of its time per file."""
    with tempfile.TemporaryDirectory(prefix="ogi-bench-") as tmp:
        empty = Path(tmp) / "empty.pdf"
        empty.write_bytes(EMPTY_PDF)
        return _median_timing(_pdftotext, [empty], 0.3)


def _fresh_process_timing(paths) -> dict:
    """Each file parsed by a fresh `ogi parse --json` process, as pdftotext runs: start-up and imports
    included (one round; a process per file is slow enough to time alone)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start, cpu0 = time.perf_counter(), _cpu()
    for p in paths:
        subprocess.run([sys.executable, "-m", "harvester.cli", "parse", "--json", str(p)], cwd=ROOT, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=600)
    secs = time.perf_counter() - start
    return {"files": len(paths), "parsed": len(paths), "seconds": secs, "cpu_seconds": _cpu() - cpu0,
            "docs_per_s": len(paths) / secs}


def _ocr_pages(paths, data) -> int:
    """Pages OCR reads in these scans (a PDF's first OCR_MAX_PAGES pages; an image is one page)."""
    from parsers import ocr
    pages = 0
    for p in paths:
        try:
            import pypdfium2 as pdfium
            doc = pdfium.PdfDocument(data[p])
            pages += min(len(doc), ocr.OCR_MAX_PAGES)
            doc.close()
        except Exception:
            pages += 1
    return pages


def _pdftotext_peak_mb(paths) -> float | None:
    """pdftotext's own peak RSS through GNU time: getrusage(RUSAGE_CHILDREN) here would count
    this process's pages, which a forked child holds until it execs."""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if not gnu_time:
        return None
    peak = 0
    for p in paths:
        proc = subprocess.run([gnu_time, "-f", "%M", "pdftotext", "-layout", str(p), "-"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=False, timeout=120)
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip().isdigit()]
        if lines:
            peak = max(peak, int(lines[-1]))
    return peak / 1024.0 if peak else None


def _stages(items, data) -> dict:
    """Milliseconds per document spent in extraction and in the table parser (one pass each);
    the rest of `parse_bytes` (meta, sections, headline, checks) is the difference."""
    from parsers import extract, tables
    from parsers.api import fewer_gc_passes
    with fewer_gc_passes():                  # as parse_bytes runs them
        t0 = time.perf_counter()
        docs = [extract.extract(data[p], filename=p.name) for p in items]
        t1 = time.perf_counter()
        for d in docs:
            tables.parse_tables(d)
        t2 = time.perf_counter()
    return {"extract_ms": 1000 * (t1 - t0) / len(items), "tables_ms": 1000 * (t2 - t1) / len(items)}


def _rss_mb(who) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0      # Linux: kilobytes


def bench_parse(files=(), echo=print) -> dict:
    paths = [Path(f) for f in files] if files else default_files()
    paths = [p for p in paths if p.is_file()]
    if not paths:
        echo("no documents to parse (give FILES, or provide harvester/sample_portals/docs "
             "or ../shared/corpus/docs)")
        return {}
    data = {p: p.read_bytes() for p in paths}

    # One untimed pass: imports, codebook and OpenCC loading are start-up, not per document;
    # it also sorts scanned PDFs (OCR) from PDFs with a text layer.
    groups: dict[str, list[Path]] = defaultdict(list)
    for p in paths:
        record = parse_bytes(data[p], filename=p.name)
        fmt = _fmt_of(p)
        if fmt == "pdf" and record.get("ocr"):
            fmt = "pdf (OCR)"
        groups[fmt].append(p)

    from harvester.progress import counter

    results: dict[str, dict] = {}
    with counter(len(groups), "bench parse", unit="formats") as tick:
        for fmt in sorted(groups):
            items = groups[fmt]
            ocr = "OCR" in fmt                                    # OCR: one pass is long enough
            results[fmt] = _median_timing(lambda p: parse_bytes(data[p], filename=p.name), items,
                                          0.0 if ocr else MIN_SECONDS, 1 if ocr else REPEATS)
            results[fmt].update(_stages(items, data))
            tick()

    floor = startup = fresh = None
    text_pdfs = groups.get("pdf", [])
    if text_pdfs and shutil.which("pdftotext"):
        floor = _median_timing(_pdftotext, text_pdfs)
        startup = _pdftotext_startup()
        fresh = _fresh_process_timing(text_pdfs)
    for fmt, r in results.items():
        if "OCR" in fmt:
            r["pages"] = _ocr_pages(groups[fmt], data)
            r["ocr_s_per_page"] = r["seconds"] / max(1, r["pages"] * r["parsed"] // max(1, r["files"]))

    peak_self = _rss_mb(resource.RUSAGE_SELF)
    peak_pdftotext = _pdftotext_peak_mb(text_pdfs) if floor else None

    echo(f"median of {REPEATS} timings per format (docs/s range in brackets)")
    echo(f"{'format':<12}{'files':>6}{'parsed':>8}{'seconds':>9}{'docs/s':>9}{'range':>14}{'ms/doc':>9}"
         f"{'extract':>9}{'tables':>8}{'rest':>7}   pdftotext")
    for fmt, r in results.items():
        side = ""
        if fmt == "pdf" and floor:
            side = f"{floor['docs_per_s']:8.1f} docs/s, a process per file"
        if "OCR" in fmt:
            side = f"OCR {r['ocr_s_per_page']:.1f} s per page ({r['pages']} pages)"
        per_doc = 1000 * r["seconds"] / r["parsed"]
        rest = max(per_doc - r["extract_ms"] - r["tables_ms"], 0.0)
        spread = f"[{r['docs_per_s_min']:.1f}-{r['docs_per_s_max']:.1f}]"
        echo(f"{fmt:<12}{r['files']:>6}{r['parsed']:>8}{r['seconds']:>9.2f}{r['docs_per_s']:>9.1f}"
             f"{spread:>14}{per_doc:>9.1f}{r['extract_ms']:>9.1f}{r['tables_ms']:>8.1f}{rest:>7.1f}   {side}")
    if text_pdfs and floor is None:
        echo("pdftotext not found: no floor for PDFs (apt-get install poppler-utils)")
    if floor:
        r = results["pdf"]
        ogi_ms = 1000 * r["seconds"] / r["parsed"]
        per_file_ms = 1000 * floor["seconds"] / floor["parsed"]
        start_ms = 1000 * startup["seconds"] / startup["parsed"]
        in_process_ms = max(per_file_ms - start_ms, 0.1)
        fresh_ms = 1000 * fresh["seconds"] / fresh["parsed"]
        r["x_pdftotext"] = ogi_ms / in_process_ms
        r["x_pdftotext_process_per_file"] = fresh_ms / per_file_ms
        floor.update(startup_ms=start_ms, in_process_ms=in_process_ms)
        r["fresh_process_ms"] = fresh_ms
        echo(f"text PDFs, one process over all files: ogi {ogi_ms:.1f} ms/PDF, pdftotext {in_process_ms:.1f} ms/PDF "
             f"({per_file_ms:.1f} per file less {start_ms:.1f} start-up on an empty page): "
             f"ogi is {r['x_pdftotext']:.1f}x pdftotext")
        echo(f"text PDFs, a process per file:         ogi {fresh_ms:.1f} ms/PDF (Python start-up and imports "
             f"included), pdftotext {per_file_ms:.1f} ms/PDF: ogi is {r['x_pdftotext_process_per_file']:.1f}x pdftotext")
        # the same two comparisons in CPU time, which other jobs on the machine disturb less
        cpu = {k: 1000 * t["cpu_seconds"] / t["parsed"] for k, t in
               (("ogi", r), ("pdftotext", floor), ("startup", startup), ("fresh", fresh))}
        cpu_in = max(cpu["pdftotext"] - cpu["startup"], 0.1)
        r["cpu_x_pdftotext"] = cpu["ogi"] / cpu_in
        r["cpu_x_pdftotext_process_per_file"] = cpu["fresh"] / max(cpu["pdftotext"], 0.1)
        echo(f"  in CPU time: one process ogi {cpu['ogi']:.1f} ms vs pdftotext {cpu_in:.1f} ms ({r['cpu_x_pdftotext']:.1f}x); "
             f"a process per file ogi {cpu['fresh']:.1f} ms vs pdftotext {cpu['pdftotext']:.1f} ms "
             f"({r['cpu_x_pdftotext_process_per_file']:.1f}x)")
    pdf_peak = f"; pdftotext {peak_pdftotext:.1f} MB" if peak_pdftotext else ""
    echo(f"peak RSS: parser process {peak_self:.1f} MB (one core, all formats){pdf_peak}")
    html = results.get("html")
    if html:
        verdict = "meets" if html["docs_per_s"] >= 50 else "misses"
        echo(f"HTML: {html['docs_per_s']:.1f} docs/s on one core ({verdict} the 50 docs/s target)")
    return {"formats": results, "pdftotext": floor, "peak_rss_mb": peak_self,
            "pdftotext_peak_rss_mb": peak_pdftotext}
