"""OCR of image-only pages (scanned PDFs, JPG/PNG reports): text lines plus ruled tables cell by cell.

One owner for OCR. A page is rendered (pdfium), its table rules are found as long dark runs in the
image and painted white, every table row is cut at its vertical rules, and each cell is read on its
own. Numbers are what the dataset publishes, so a number cell is read by two engines:

- tesseract (chi_sim, then the English model restricted to digits for cells chi_sim takes for
  characters), on all cells of a page stacked into one strip;
- PP-OCR's recogniser through ``rapidocr-onnxruntime`` (models inside the wheel, no download), on
  each cell trimmed to its ink, one text line at a time.

A number is written only when the engines agree. When they disagree the cell is re-read (larger
scale, bilevel) by both; a reading both engines then give wins. What is still doubtful is settled
only by the table's own arithmetic (a row of seven applicant columns ends in its total, table 4's
three blocks of five end in theirs) when exactly one choice of the candidate readings satisfies it;
otherwise the row is written as UNREAD_ROW (never a number, and no partial row whose other
values a table reader could shift) and the reason recorded as a Problem.
Without rapidocr, tesseract's per-word confidence decides doubt instead of a second engine.

`OGI_OCR_ENGINE` = ``tesseract`` forces the single-engine path (used to measure the two).
"""
from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor, TimeoutError
from dataclasses import dataclass, field

from parsers.document import Extracted, Problem

OCR_MAX_PAGES = 20
OCR_DPI = 200
OCR_WORKERS = 2
OCR_PAGE_TIMEOUT = 40
# seconds for all pages: the scorer allows 60 per document (OGI_OCR_BUDGET: measuring on a busy machine)
OCR_BUDGET = float(os.environ.get("OGI_OCR_BUDGET") or 50)
TESS_SURE = 85                       # tesseract word confidence (0-100) trusted without a second engine
RAPID_SURE = 0.90                    # rapidocr line score trusted for a label cell

_CJK = r"\u3400-\u9fff"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}，。、：；）（“”]) +(?=[{_CJK}，。、：；）（“”])")
_NUM = re.compile(r"[-+]?(?:0|[1-9]\d*)(?:\.\d+)?(?:万元|万|元|件|条|个|项)?")   # no leading zeros: 060 is a misread
UNREAD_ROW = "[ocr: table row left unread]"     # no TAB, digit or CJK: no reader takes it for a row
_BLANKISH = re.compile(r"[\s。.,，、·:：;；'\"“”`_~|\-—]*")


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


_tesseract_available = tesseract_available


# ---------------------------------------------------------------------------------------------
# the second engine

_RAPID_LOCK = threading.Lock()


@functools.cache
def _rapid():
    """rapidocr's text recogniser, or None (not installed, or switched off)."""
    if os.environ.get("OGI_OCR_ENGINE", "").strip().lower() == "tesseract":
        return None
    try:
        from rapidocr_onnxruntime import RapidOCR
        rec = RapidOCR().text_rec
    except Exception:
        return None
    # the default pads every line to 320 pixels at height 48; cells are short, so pad to 96
    # (the recogniser reads any width; this is three times faster on number cells)
    rec.rec_image_shape = [3, 48, 96]
    return rec


def rapid_available() -> bool:
    return _rapid() is not None


def _trim(crop, thr: int = 160):
    """The crop cut to its ink with a 2-pixel margin, or None when it has no ink."""
    import numpy as np

    ys, xs = np.nonzero(crop < thr)
    if len(ys) == 0:
        return None
    return crop[max(0, ys.min() - 2):ys.max() + 3, max(0, xs.min() - 2):xs.max() + 3]


def _ink_lines(crop, thr: int = 160) -> list:
    """A cell's text lines (a wrapped label has several), each trimmed to its ink."""
    import numpy as np

    t = _trim(crop, thr)
    if t is None:
        return []
    rows = (t < thr).sum(axis=1) > 0
    runs = []
    for i, f in enumerate(rows):
        if f:
            if runs and i - runs[-1][1] <= 2:
                runs[-1][1] = i + 1
            else:
                runs.append([i, i + 1])
    if not runs:
        return []
    tallest = max(b - a for a, b in runs)
    # specks and the dots of a broken rule are not lines
    runs = [(a, b) for a, b in runs if b - a >= max(4, tallest // 4)]
    out = []
    for a, b in runs:
        ln = _trim(t[max(0, a - 1):b + 1], thr)
        if ln is not None:
            out.append(ln)
    return out


def _rapid_prepare(line):
    import numpy as np

    m = max(4, line.shape[0] // 3)
    pad = np.pad(line, m, constant_values=255)
    return np.repeat(pad[:, :, None], 3, axis=2)


def _rapid_read(crops: list) -> list[tuple[str, float]] | None:
    """(text, score) of each cell by rapidocr's recogniser, lines joined; None without the engine."""
    rec = _rapid()
    if rec is None:
        return None
    lines, owner = [], []
    for i, cr in enumerate(crops):
        for ln in _ink_lines(cr):
            lines.append(_rapid_prepare(ln))
            owner.append(i)
    res: list[tuple[str, float]] = []
    if lines:
        with _RAPID_LOCK:
            res, _ = rec(lines)
    out: list[list] = [["", 1.0, 0] for _ in crops]
    for i, (txt, score) in zip(owner, res):
        out[i][0] += (txt or "").strip()
        out[i][1] = min(out[i][1], float(score or 0.0))
        out[i][2] += 1
    return [(t, s if n else 0.0) for t, s, n in out]


# ---------------------------------------------------------------------------------------------
# rules and tesseract

# Rows handled at a time by the run functions below: their cumulative sums cost 8 bytes a pixel, so a
# 25 MP page done at once peaked near 1 GB; row strips give the same result within a few MB.
_STRIP_ROWS = 256


def _by_strips(fn, mask, dtype, *args):
    import numpy as np

    out = np.empty(mask.shape, dtype=dtype)
    for r in range(0, mask.shape[0], _STRIP_ROWS):
        out[r:r + _STRIP_ROWS] = fn(mask[r:r + _STRIP_ROWS], *args)
    return out


def _long_runs(mask, length: int):
    """Pixels lying in a horizontal run of at least `length` True pixels (row-wise)."""
    import numpy as np

    if mask.shape[0] > _STRIP_ROWS:
        return _by_strips(_long_runs, mask, bool, length)
    width = mask.shape[1]
    if width < length:
        return np.zeros_like(mask)
    c = np.pad(np.cumsum(mask, axis=1, dtype=np.int32), ((0, 0), (1, 0)))
    starts = (c[:, length:] - c[:, :-length]) == length          # a full run starts at i
    s = np.pad(starts.astype(np.int32), ((0, 0), (0, length - 1)))   # index i = start i
    cs = np.pad(np.cumsum(s, axis=1), ((0, 0), (1, 0)))
    # x is covered when a run starts in [x - length + 1, x]
    lo = np.maximum(np.arange(width) - length + 1, 0)
    return (cs[:, 1:] - cs[:, lo]) > 0


def _run_length(mask):
    """For each True pixel, the length of the row-wise run of True pixels it lies in (else 0);
    lengths over 255 read as 255 (callers only ask "thinner than 6, longer than 40")."""
    import numpy as np

    if mask.shape[0] > _STRIP_ROWS:
        return _by_strips(_run_length, mask, np.uint8)
    h, w = mask.shape
    flat = np.concatenate([mask, np.zeros((h, 1), dtype=bool)], axis=1).ravel()
    d = np.diff(np.concatenate([[0], flat.astype(np.int8), [0]]))
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    out = np.zeros(flat.shape, dtype=np.int32)
    if len(starts):
        lengths = ends - starts
        idx = np.zeros(flat.shape[0] + 1, dtype=np.int32)
        np.add.at(idx, starts, lengths)
        np.add.at(idx, ends, -lengths)
        out = np.minimum(np.cumsum(idx)[:-1] * flat, 255)
    return out.reshape(h, w + 1)[:, :w].astype(np.uint8)


def _rules(dark):
    """Horizontal and vertical table rules: long thin dark runs. The strokes of large (title)
    characters are as long as a short rule but thicker: a pixel of a vertical rule lies in a
    horizontal dark run under 6 pixels (or a long one: where a horizontal rule crosses), and
    the other way round."""
    h, w = dark.shape
    rules_h = _long_runs(dark, max(30, w // 25))
    across = _run_length(dark.T).T
    rules_h &= (across < 6) | (across > 40)
    rules_v = _long_runs(dark.T, max(30, h // 50)).T
    along = _run_length(dark)
    rules_v &= (along < 6) | (along > 40)
    return rules_h, rules_v


def _runs_of(flags) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a 1-D sequence, runs closer than 4 joined."""
    out: list[list[int]] = []
    for i, f in enumerate(flags):
        if f:
            if out and i - out[-1][1] <= 3:
                out[-1][1] = i + 1
            else:
                out.append([i, i + 1])
    return [(a, b) for a, b in out]


def _tesseract_words(path: str, psm: str = "6", digits: bool = False
                     ) -> list[tuple[tuple, int, int, int, int, str, float]]:
    """Words of one image as (line key, left, top, width, height, text, confidence) from
    tesseract's TSV; with `digits`, the English model restricted to number characters."""
    lang = ["-l", "eng", "-c", "tessedit_char_whitelist=0123456789.-+"] if digits else ["-l", "chi_sim"]
    proc = subprocess.run(["tesseract", path, "stdout", *lang, "--psm", psm, "tsv"],
                          capture_output=True, timeout=OCR_PAGE_TIMEOUT,
                          env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    words = []
    for r in proc.stdout.decode("utf-8", "replace").splitlines()[1:]:
        f = r.split("\t")
        if len(f) < 12 or f[0] != "5" or not f[11].strip():
            continue
        try:
            conf = float(f[10])
        except ValueError:
            conf = -1.0
        words.append(((int(f[2]), int(f[3]), int(f[4])), int(f[6]), int(f[7]), int(f[8]),
                      int(f[9]), f[11].strip(), conf))
    return words


def _join_words(words, tabs: bool = True) -> str:
    """Words of one line, left to right; a wide gap becomes a TAB, CJK characters join tight."""
    words = sorted(words, key=lambda w: w[1])
    heights = sorted(w[4] for w in words)
    h = heights[len(heights) // 2] or 10
    s = words[0][5]
    for prev, cur in zip(words, words[1:]):
        gap = cur[1] - (prev[1] + prev[3])
        if tabs and gap > 1.8 * h:
            s += "\t"
        elif gap > 0.45 * h and not (re.match(rf"[{_CJK}]", prev[5][-1]) and
                                     re.match(rf"[{_CJK}]", cur[5][0])):
            s += " "
        s += cur[5]
    return s


def _read_cells(crops: list, path: str, digits: bool = False) -> dict[int, tuple[str, float]]:
    """Stack cell images into one strip, read it in one tesseract call, map words back:
    cell index -> (text, lowest word confidence)."""
    import numpy as np
    from PIL import Image

    if not crops:
        return {}
    gap = 24
    width = max(cr.shape[1] for cr in crops) + 2 * gap
    height = sum(cr.shape[0] + gap for cr in crops) + gap
    strip = np.full((height, width), 255, dtype=np.uint8)
    slots = []
    y = gap
    for cr in crops:
        strip[y:y + cr.shape[0], gap:gap + cr.shape[1]] = cr
        slots.append((y, y + cr.shape[0]))
        y += cr.shape[0] + gap
    Image.fromarray(strip).save(path)
    return _read_slots(_tesseract_words(path, digits=digits), slots, gap)


def _read_slots(words, slots, gap: int) -> dict[int, tuple[str, float]]:
    """Text of each stacked cell: words assigned by their vertical centre."""
    by_slot: dict[int, list] = {}
    for wd in words:
        cy = wd[2] + wd[4] / 2
        for i, (y0, y1) in enumerate(slots):
            if y0 - gap / 2 <= cy < y1 + gap / 2:
                by_slot.setdefault(i, []).append(wd)
                break
    out = {}
    for i, ws in by_slot.items():
        lines = [[wd for wd in ws if wd[0] == k] for k in dict.fromkeys(wd[0] for wd in ws)]
        lines.sort(key=lambda ln: min(wd[2] for wd in ln))
        conf = min((wd[6] if len(wd) > 6 else -1.0) for wd in ws)
        out[i] = ("".join(_join_words(ln, tabs=False) for ln in lines), conf)
    return out


def _grid_rows(rules_h, rules_v) -> list[tuple[int, int, list[int]]]:
    """Table rows found from the rules: (top, bottom, x of each vertical rule crossing the row)."""
    h, w = rules_h.shape
    lines = _runs_of(rules_h.sum(axis=1) > max(30, w // 25))
    rows = []
    for (a0, a1), (b0, b1) in zip(lines, lines[1:]):
        top, bottom = a1, b0
        if bottom - top < 12 or bottom - top > h // 3:
            continue
        band = rules_v[top + 2:bottom - 2, :]
        if band.shape[0] == 0:
            continue
        xs = [(x0 + x1) // 2 for x0, x1 in _runs_of(band.mean(axis=0) > 0.45)]
        if len(xs) >= 2:
            rows.append((top, bottom, xs))
    return rows


def _skew_angle(im) -> float:
    """The small rotation (degrees, within +-3) that makes the page's text lines and table rules
    horizontal: the angle whose row profile of dark pixels is sharpest; 0 when under 0.15."""
    import numpy as np
    from PIL import Image

    h, w = im.shape
    f = max(1, min(h, w) // 500)
    small = Image.fromarray(np.where(im < 160, 255, 0).astype(np.uint8)).reduce(f) if f > 1 else \
        Image.fromarray(np.where(im < 160, 255, 0).astype(np.uint8))

    def sharpness(a: float) -> float:
        prof = np.asarray(small.rotate(a, resample=Image.BILINEAR), dtype=np.float32).sum(axis=1)
        return float(np.square(np.diff(prof)).sum())

    base = sharpness(0.0)
    best, score = 0.0, base
    for a in np.arange(-3.0, 3.01, 0.5):
        s = sharpness(float(a))
        if s > score:
            best, score = float(a), s
    for a in np.arange(best - 0.4, best + 0.41, 0.1):
        s = sharpness(float(a))
        if s > score:
            best, score = float(a), s
    if abs(best) < 0.15 or score < base * 1.05:
        return 0.0
    return round(best, 2)


# ---------------------------------------------------------------------------------------------
# deciding what a cell says

def num_key(s: str | None) -> str | None:
    """The number a reading states (full-width folded, spaces and thousands commas out), or None."""
    if not s:
        return None
    t = re.sub(r"[\s,，]", "", unicodedata.normalize("NFKC", s))
    return t if _NUM.fullmatch(t) else None


def _blankish(s: str | None) -> bool:
    return not s or bool(_BLANKISH.fullmatch(s))


@dataclass
class Cell:
    row: int
    col: int
    crop: object
    tess: str = ""
    tess_conf: float = -1.0
    digits: str = ""                 # tesseract, digits only
    rapid: str | None = None         # None: engine unavailable
    rapid_score: float = 0.0
    text: str = ""                   # what is written
    value: str | None = None         # the number written, if any
    candidates: set = field(default_factory=set)
    doubt: str = ""                  # why the cell is doubtful ("" = sure)
    how: str = ""


_LOOKALIKE = str.maketrans({"o": "0", "O": "0", "〇": "0", "l": "1", "I": "1"})


def rapid_key(s: str | None) -> str | None:
    """rapidocr's number: letters it gives for look-alike digits (o for 0) folded. Safe because a
    number is written only when tesseract reads the same digits."""
    if s and re.fullmatch(r"[\d.,oOlI〇\s]+", s):
        return num_key(s.translate(_LOOKALIKE))
    return num_key(s)


def _tess_key(c: Cell) -> str | None:
    """Tesseract's number: chi_sim's reading, else the digits model's unless chi_sim read Chinese.
    With a second engine, '|' at a cell's edges is taken for what is left of a rule (821| -> 821):
    a '|' that was a 1 makes the readings differ, and differing readings are never written."""
    if num_key(c.tess):
        return num_key(c.tess)
    if c.rapid is not None and c.tess and num_key(c.tess.strip("| ")):
        return num_key(c.tess.strip("| "))
    if re.search(rf"[{_CJK}]{{2}}", c.tess or ""):
        return None
    return num_key(c.digits)


def _cjk_count(s: str | None) -> int:
    return len(re.findall(rf"[{_CJK}]", s or ""))


@functools.cache
def _known_labels() -> tuple[str, ...]:
    from parsers import extract
    return tuple(sorted((l for l in extract._table_labels() if len(l) >= 4), key=len, reverse=True))


def _tess_label_ok(c: Cell) -> bool:
    """Tesseract read a text cell that holds a whole template label (and no digit beside the
    label's own numbering): the second engine is not needed for it."""
    from parsers import codebook

    if _cjk_count(c.tess) < 4 or c.tess_conf < 60:
        return False
    t = codebook.normalise_label(c.tess, strip_annotation=False, convert=False)
    hit = next((l for l in _known_labels() if l in t), None)
    if hit is None:
        return False
    rest = t.replace(hit, "", 1)
    return not re.search(r"\d", rest)


def _decide(c: Cell) -> None:
    tk = _tess_key(c)
    rk = rapid_key(c.rapid)
    if tk is not None and rk is None and _cjk_count(c.rapid) >= 2 and (
            num_key(c.tess) is None or c.rapid_score >= RAPID_SURE):
        tk = None            # a line of characters the recogniser is sure of is no number cell
    if c.rapid is None:
        # one engine: its confidence decides (tesseract's two models count as one engine)
        if tk is None:
            c.text, c.how = c.tess, "tesseract"
            if num_key(c.tess) is None and re.fullmatch(r"[\d\s.,]+", c.tess or "") and c.tess.strip():
                c.doubt, c.text = f"tesseract read {c.tess!r}", "?"
            return
        c.candidates = {tk}
        sure = (c.tess_conf >= TESS_SURE and num_key(c.tess) == tk) or \
               (num_key(c.tess) is not None and num_key(c.tess) == num_key(c.digits))
        if sure:
            c.value, c.text, c.how = tk, tk, f"tesseract conf {c.tess_conf:.0f}"
        else:
            c.doubt = f"tesseract read {tk} with confidence {c.tess_conf:.0f}"
        return
    if tk is None and rk is None:
        # a text cell: the recogniser made for Chinese when it is sure of a line, else tesseract
        if c.rapid and (c.rapid_score >= RAPID_SURE or _blankish(c.tess)):
            c.text, c.how = c.rapid, f"rapidocr {c.rapid_score:.2f}"
        else:
            c.text, c.how = c.tess, "tesseract"
        if re.fullmatch(r"[\d\s.,]+", c.rapid or "") and (c.rapid or "").strip() and not _blankish(c.rapid):
            c.doubt, c.text = f"readings {c.tess!r} / {c.rapid!r} are no number", "?"
        return
    if tk is not None and tk == rk:
        c.value, c.text, c.how = tk, tk, f"tesseract+rapidocr {c.rapid_score:.2f}"
        return
    c.candidates = {k for k in (tk, rk) if k is not None}
    # also when one engine sees a number and the other only a dot or nothing: a single
    # engine's number is re-read and may still be settled by the row total, never taken alone
    c.doubt = f"tesseract read {c.tess or c.digits!r}, rapidocr {c.rapid!r}"


def _reread(cells: list[Cell], path: str) -> None:
    """Doubtful number cells read again at twice the scale, bilevel, by both engines; a number
    three of the four readings give, both engines among them, is taken."""
    import numpy as np

    if not cells:
        return
    big = []
    for c in cells:
        t = _trim(c.crop)
        if t is None:
            t = c.crop
        t = np.kron(t, np.ones((2, 2), dtype=np.uint8))
        t = np.where(t < 170, 0, 255).astype(np.uint8)
        big.append(np.pad(t, 16, constant_values=255))
    tz = _read_cells(big, path + ".reread.png", digits=True)
    rz = _rapid_read(big)
    for i, c in enumerate(cells):
        t2 = num_key(tz.get(i, ("", 0))[0])
        r2 = rapid_key(rz[i][0]) if rz else None
        t1, r1 = _tess_key(c), rapid_key(c.rapid)
        c.candidates |= {k for k in (t2, r2) if k}
        if rz is None:
            # one engine repeats its own misreadings (20 for 26 at both scales): no second
            # opinion, so only the row's arithmetic may still settle the cell
            c.doubt += f"; re-read: tesseract {t2}"
            continue
        # a number three of the four readings give, both engines among them
        votes = [k for k in (t1, r1, t2, r2) if k]
        best = [k for k in set(votes) if votes.count(k) >= 3 and k in (t1, t2) and k in (r1, r2)]
        if len(best) == 1:
            k = best[0]
            c.value, c.text, c.how, c.doubt = k, k, "re-read: three readings of four, both engines", ""
        else:
            c.doubt += f"; re-read: tesseract {t2}, rapidocr {r2}"


def _resolve_by_totals(row_cells: list[Cell], problems: list[Problem], where: str) -> None:
    """Doubtful cells of one table row settled by the row's arithmetic: seven value cells end in
    their total (table 3), fifteen are three blocks of five ending in theirs (table 4). Only a
    single consistent choice among the candidate readings is taken."""
    import itertools

    vals = [c for c in row_cells if c.value is not None or c.candidates or c.doubt]
    # the value cells are the row's trailing run of cells that hold or may hold a number
    trail = []
    for c in reversed(row_cells):
        if c.value is not None or c.candidates:
            trail.append(c)
        elif _blankish(c.text) and not c.doubt:
            trail.append(c)          # a blank cell is 0
        else:
            break
    trail.reverse()
    doubtful = [c for c in trail if c.value is None and c.candidates]
    if not doubtful or len(trail) not in (7, 15) or len(doubtful) > 4:
        return
    groups = [trail] if len(trail) == 7 else [trail[0:5], trail[5:10], trail[10:15]]

    def number(c, pick):
        k = pick.get(id(c), c.value)
        if k is None:
            return 0.0
        return float(re.sub(r"[^\d.+-]", "", k) or 0)

    fits = []
    for combo in itertools.product(*(sorted(c.candidates) for c in doubtful)):
        pick = {id(c): k for c, k in zip(doubtful, combo)}
        if all(abs(sum(number(c, pick) for c in g[:-1]) - number(g[-1], pick)) < 1e-6 for g in groups):
            fits.append(combo)
    if len(fits) == 1:
        for c, k in zip(doubtful, fits[0]):
            c.value, c.text, c.how = k, k, "chosen by the row total among the readings"
            c.doubt = ""


# ---------------------------------------------------------------------------------------------
# one page

def _ocr_page(path: str) -> tuple[str, list[Problem]]:
    return _ocr_page_cells(path)[:2]


def _cell_provenance(c: Cell, box: list[int]) -> dict:
    """How OCR read one cell, for the cell's provenance: both engines' readings and confidences
    (tesseract 0-100, rapidocr 0-1) and the rule that decided; the box in the page image's pixels."""
    engines = {"tesseract": {"text": c.tess or c.digits, "confidence": round(float(c.tess_conf), 1)}}
    if c.rapid is not None:
        engines["rapidocr"] = {"text": c.rapid, "confidence": round(float(c.rapid_score), 3)}
    return {"box_px": box, "ocr": {"engines": engines, "decided": c.how}}


def _ocr_page_cells(path: str) -> tuple[str, list[Problem], list]:
    """OCR one page: ruled tables cell by cell (TAB-joined rows), the rest as lines.

    Tesseract reads ruled tables badly (rules become '|', digits get swallowed, cells of one row
    drift onto several lines). So rules are found as long dark runs and painted white; each table
    row is cut at its vertical rules; blank cells are known blank from their pixels; the other
    cells are read on their own (see the module docstring) and mapped back by position.
    """
    problems: list[Problem] = []
    base = os.path.basename(path).split(".")[0]
    page = f"page {int(base[1:])}" if re.fullmatch(r"p\d+", base) else "image"
    try:
        import numpy as np
        from PIL import Image
        im = np.asarray(Image.open(path).convert("L"))
    except Exception:
        words = _tesseract_words(path)
        return "\n".join(_join_words([w for w in words if w[0] == k])
                         for k in dict.fromkeys(w[0] for w in words)), problems, []
    angle = _skew_angle(im)
    if angle:
        im = np.asarray(Image.fromarray(im).rotate(angle, resample=Image.BICUBIC, fillcolor=255))
    dark = im < 160
    h, w = dark.shape
    rules_h, rules_v = _rules(dark)
    rules = rules_h | rules_v
    rules = rules | np.roll(rules, 1, 0) | np.roll(rules, -1, 0) | np.roll(rules, 1, 1) | np.roll(rules, -1, 1)
    clean = im.copy()
    clean[rules] = 255
    rows = _grid_rows(rules_h, rules_v)

    # the page without its tables, read as ordinary lines
    text_img = clean.copy()
    for top, bottom, xs in rows:
        text_img[max(0, top - 2):bottom + 2, max(0, xs[0] - 2):xs[-1] + 2] = 255
    page_path = path + ".text.png"
    Image.fromarray(text_img).save(page_path)
    placed: list[tuple[int, str]] = []
    words = _tesseract_words(page_path)
    for key in dict.fromkeys(wd[0] for wd in words):
        line = [wd for wd in words if wd[0] == key]
        placed.append((min(wd[2] for wd in line), _join_words(line)))

    cells: list[Cell] = []
    doubtful_rows: set[int] = set()
    for r, (top, bottom, xs) in enumerate(rows):
        for c, (x0, x1) in enumerate(zip(xs, xs[1:])):
            crop = clean[top + 3:bottom - 2, x0 + 3:x1 - 2]
            if crop.size and (crop < 160).sum() >= 12:
                cells.append(Cell(r, c, crop))
    if cells:
        read = _read_cells([c.crop for c in cells], path + ".cells.png")
        for i, c in enumerate(cells):
            c.tess, c.tess_conf = read.get(i, ("", -1.0))
        # chi_sim takes a lone digit for a character (1 -> 村): cells that read as one or two
        # characters, or without two CJK characters in a row, are read again as numbers only
        unsure = [c for c in cells if num_key(c.tess) is None
                  and (len(c.tess) <= 2 or not re.search(rf"[{_CJK}]{{2}}", c.tess))]
        again = _read_cells([c.crop for c in unsure], path + ".digits.png", digits=True)
        for j, c in enumerate(unsure):
            txt = again.get(j, ("", -1.0))
            if re.fullmatch(r"[-+]?\d[\d.]*", txt[0]):
                c.digits = txt[0]
                if c.tess_conf < 0 or not c.tess:
                    c.tess_conf = txt[1]
        # the second engine reads every cell that may hold a number, and the text cells in
        # which tesseract found no label of the templates (reading every label costs 2x time)
        second = [c for c in cells if not _tess_label_ok(c)]
        rapid = _rapid_read([c.crop for c in second])
        if rapid is not None:
            for c, (txt, score) in zip(second, rapid):
                c.rapid, c.rapid_score = txt, score
            for c in cells:
                if c.rapid is None:
                    c.rapid, c.rapid_score = c.tess, 1.0
        for c in cells:
            _decide(c)
        _reread([c for c in cells if c.doubt and c.candidates], path)
        by_row: dict[int, list[Cell]] = {}
        for c in cells:
            by_row.setdefault(c.row, []).append(c)
        for r, rc in by_row.items():
            n = len(rows[r][2]) - 1
            full = {c.col: c for c in rc}
            row_cells = [full.get(j) or Cell(r, j, None) for j in range(n)]
            _resolve_by_totals(row_cells, problems, f"{page} table row {r + 1}")
        for c in cells:
            if c.doubt and c.value is None:
                doubtful_rows.add(c.row)
                problems.append(Problem("ocr_doubtful", f"{page} table row {c.row + 1} column "
                                        f"{c.col + 1}: {c.doubt}; the row is left unread"))
    texts = {(c.row, c.col): c.text for c in cells}
    by_pos = {(c.row, c.col): c for c in cells}
    geo: dict[int, list] = {}              # id of a placed row -> its cells' provenance
    for r, (top, bottom, xs) in enumerate(rows):
        if r in doubtful_rows:
            # the whole row goes: a lone unread cell would let the table reader shift the
            # row's other values or split them as digits run together
            placed.append((top, UNREAD_ROW))
            continue
        row = [texts.get((r, c), "").replace("\t", " ").replace("\n", " ") for c in range(len(xs) - 1)]
        if any(row):
            placed.append((top, "\t".join(row)))
            geo[id(placed[-1])] = [
                _cell_provenance(by_pos[(r, c)], [int(xs[c]), int(top), int(xs[c + 1]), int(bottom)])
                if (r, c) in by_pos else None for c in range(len(xs) - 1)]
    placed.sort(key=lambda p: p[0])
    return "\n".join(t for _, t in placed), problems, [geo.get(id(p)) for p in placed]


def _ocr_image_file(path: str) -> str:
    return _ocr_page(path)[0]


# ---------------------------------------------------------------------------------------------
# row labels misread: placed by the codebook's fixed row order

SNAP_COVER = 0.7          # share of a label's characters an OCR label must contain, in order
SNAP_MARGIN = 0.15        # ... and by this much more than any other row that could stand there


def _value_like(cell: str) -> bool:
    from parsers import numbers

    c = cell.strip()
    return c in ("", "?") or num_key(c) is not None or numbers.is_blank(c)


def _split_row(line: str):
    """(label cells, value cells) of a TAB row whose trailing cells are values, or None."""
    cells = line.split("\t")
    j = len(cells)
    while j > 0 and _value_like(cells[j - 1]):
        j -= 1
    values = cells[j:]
    if j == 0 or not values or not any(num_key(v) is not None or v.strip() == "?" for v in values):
        return None
    return cells[:j], values


def _fold_numbering(label: str) -> str:
    """1、 1． and 1. number a row alike."""
    return re.sub(r"(\d)\s*[、.．,，]", r"\1.", label)


@functools.cache
def _slots(tid: str) -> tuple:
    """(row id, normalised labels, number of value columns) of tables 2 and 3, in printed order."""
    from parsers import codebook

    t = codebook.template(tid)
    out = []
    for b in t.tables["t2"].blocks:
        out += [(f"t2.{r.id}", tuple(map(_fold_numbering, r.labels)), len(b.columns)) for r in b.rows]
    t3 = t.tables["t3"]
    out += [(f"t3.{r.id}", tuple(map(_fold_numbering, r.labels)), len(t3.columns)) for r in t3.rows]
    return tuple(out)


def _cover(ocr_label: str, label: str) -> float:
    import difflib

    sm = difflib.SequenceMatcher(None, ocr_label, label, autojunk=False)
    return sum(b.size for b in sm.get_matching_blocks()) / max(1, len(label))


def snap_labels(text: str) -> tuple[str, list[Problem]]:
    """A table row whose label OCR misread (一、本尔新收政府信息公开中请数量) is given the
    codebook's label when the rows around it were read and fix where it stands: between the
    nearest rows found by their own labels, it must fit one template row (the right number of
    value cells, most of the label's characters in order) clearly better than any other."""
    from parsers import codebook

    lines = text.split("\n")
    rows = []                                   # (line index, normalised label, n values)
    for i, ln in enumerate(lines):
        sp = _split_row(ln) if "\t" in ln else None
        if sp:
            lab = _fold_numbering(codebook.normalise_label("".join(sp[0]), strip_annotation=False,
                                                           convert=False))
            if lab:
                rows.append((i, lab, len(sp[1])))
    if not rows:
        return text, []
    best_tid, best_anchors = None, {}
    for tid in ("2021", "2019"):
        slots = _slots(tid)
        anchors, last = {}, -1                  # row position -> slot index, increasing
        for k, (_, lab, n) in enumerate(rows):
            hits = [j for j, (_, labels, m) in enumerate(slots) if j > last and m == n
                    and any(len(l) >= 2 and l in lab for l in labels)]
            if hits:
                # the longest label contained wins (予以公开 is inside no other row label)
                j = max(hits, key=lambda j: (max(len(l) for l in slots[j][1] if l in lab), -j))
                anchors[k], last = j, j
        if len(anchors) > len(best_anchors):
            best_tid, best_anchors = tid, anchors
    if best_tid is None:
        return text, []
    slots = _slots(best_tid)
    taken = set(best_anchors.values())
    problems = []
    for k, (i, lab, n) in enumerate(rows):
        if k in best_anchors:
            continue
        lo = max((best_anchors[q] for q in best_anchors if q < k), default=-1)
        hi = min((best_anchors[q] for q in best_anchors if q > k), default=len(slots))
        if lo == -1 or hi == len(slots):
            continue                             # only between rows read by their labels
        scored = sorted(((max(_cover(lab, l) for l in slots[j][1]), j) for j in range(lo + 1, hi)
                         if j not in taken and slots[j][2] == n), reverse=True)
        if not scored or scored[0][0] < SNAP_COVER:
            continue
        if len(scored) > 1 and scored[0][0] - scored[1][0] < SNAP_MARGIN:
            continue
        j = scored[0][1]
        if len(lab) >= 6 and any(lab in l for l in slots[j][1]):
            taken.add(j)
            continue                             # a label cut short, not misread: left as read
        canonical = codebook.normalise_label(slots[j][1][0], strip_annotation=False, convert=False)
        label_cells, values = _split_row(lines[i])
        lines[i] = "\t".join([slots[j][1][0], *values])
        taken.add(j)
        problems.append(Problem("ocr_label", f"row label read as {''.join(label_cells).strip()!r} "
                                f"taken as {canonical!r} ({scored[0][0]:.2f} of its characters, "
                                f"between the rows around it)"))
    return "\n".join(lines), problems


# ---------------------------------------------------------------------------------------------
# documents

def ocr_files(paths: list[str], scales: list[float] | None = None) -> tuple[str, list[Problem], dict]:
    """OCR pages in parallel, in page order, within OCR_BUDGET seconds overall. Also returns each
    table cell's provenance by line of the text (Extracted.geometry); `scales` (pixels per point
    of each page) turn pixel boxes into page points."""
    problems = []
    geometry: dict[int, list] = {}
    line = 0
    deadline = time.monotonic() + OCR_BUDGET
    with ThreadPoolExecutor(max_workers=OCR_WORKERS) as pool:
        futures = [pool.submit(_ocr_page_cells, p) for p in paths]
        texts = []
        for i, f in enumerate(futures):
            try:
                text, more, geo = f.result(timeout=max(0.1, deadline - time.monotonic()))
                texts.append(text)
                problems.extend(more)
                if text:
                    for k, cells in enumerate(geo):
                        if cells:
                            geometry[line + k] = [_page_box(c, i + 1, scales[i] if scales else None)
                                                  for c in cells]
                    line += text.count("\n") + 1
            except TimeoutError:
                for g in futures[i:]:
                    g.cancel()
                problems.append(Problem("truncated", f"OCR stopped after {i} of {len(paths)} "
                                        f"pages (time limit {OCR_BUDGET}s)"))
                break
            except Exception as exc:
                problems.append(Problem("ocr_failed", f"page {i + 1}: {exc}"))
                texts.append("")
    return "\n".join(t for t in texts if t), problems, geometry


def _page_box(cell: dict | None, page: int, scale: float | None) -> dict | None:
    if cell is None:
        return None
    out = {"ocr": cell["ocr"]}
    if scale:
        out.update(page=page, box=[round(v / scale, 1) for v in cell["box_px"]])
    else:
        out["box_px"] = cell["box_px"]          # an image has no pages: its own pixels
    return out


def ocr_pdf(data: bytes, n_pages: int) -> Extracted:
    """Render the first OCR_MAX_PAGES pages (pdfium, as pdfplumber does) and OCR them in parallel."""
    if not tesseract_available():
        return Extracted(format="pdf", ocr=True, problems=[Problem(
            "ocr_unavailable", "the PDF has no text layer and tesseract is not installed")])
    try:
        import pypdfium2 as pdfium
    except ImportError:
        return Extracted(format="pdf", ocr=True, problems=[Problem(
            "ocr_unavailable", "the PDF has no text layer and pypdfium2 is not installed")])
    problems = []
    last = min(n_pages, OCR_MAX_PAGES)
    if n_pages > OCR_MAX_PAGES:
        problems.append(Problem("truncated", f"OCR read only the first {OCR_MAX_PAGES} of "
                                f"{n_pages} pages"))
    with tempfile.TemporaryDirectory(prefix="ogi-ocr-") as tmp:
        paths, scales = [], []
        try:
            pdf = pdfium.PdfDocument(data)
            for i in range(last):
                path = os.path.join(tmp, f"p{i + 1:03d}.png")
                width, height = pdf[i].get_size()           # points
                scale = OCR_DPI / 72
                if width * height * scale * scale > MAX_OCR_PIXELS:
                    # A page far larger than paper (a 14400 pt page is 5 m): render it no larger than
                    # MAX_OCR_PIXELS instead of asking for gigabytes.
                    scale = (MAX_OCR_PIXELS / max(1.0, width * height)) ** 0.5
                    problems.append(Problem("too_large", f"page {i + 1} is {width:.0f}×{height:.0f} pt; rendered "
                                            f"at {scale * 72:.0f} dpi to stay within {MAX_OCR_PIXELS // 10**6} MP"))
                pdf[i].render(scale=scale, grayscale=True).to_pil().save(path)
                paths.append(path)
                scales.append(scale)
            pdf.close()
        except Exception as exc:
            problems.append(Problem("ocr_failed", f"rendering the PDF for OCR failed: {exc}"))
        text, more, geometry = ocr_files(paths, scales)
    text, snapped = snap_labels(text)
    return Extracted(format="pdf", text=clean_ocr(text), ocr=True, problems=problems + more + snapped,
                     geometry=geometry)


def clean_ocr(text: str) -> str:
    return _CJK_SPACE.sub("", text)


MAX_OCR_PIXELS = 25 * 10**6    # pixels per page image OCR works on: A3 at 300 dpi is 17 MP, A4 9 MP


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the image's header, without decoding its pixels."""
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except Image.DecompressionBombError as exc:     # Pillow's own refusal: over 179 MP
        match = re.search(r"\((\d+) pixels\)", str(exc))
        return (int(match.group(1)), 1) if match else (MAX_OCR_PIXELS + 1, 1)
    except Exception:
        return None


def read_image(data: bytes, media_type: str | None) -> Extracted:
    if not tesseract_available():
        return Extracted(format="image", ocr=True, problems=[Problem(
            "ocr_unavailable", "tesseract is not installed; the image cannot be read")])
    size = _image_size(data)
    if size and size[0] * size[1] > MAX_OCR_PIXELS:
        # Decoding is what costs: a 439-byte PNG can declare 20000×20000 pixels (1.3 GB decoded).
        return Extracted(format="image", ocr=True, problems=[Problem(
            "too_large", f"the image has {size[0] * size[1]:,} pixels, over the OCR limit of "
                         f"{MAX_OCR_PIXELS // 10**6} MP (a page scanned at 300 dpi is about 9 MP); not decoded")])
    with tempfile.TemporaryDirectory(prefix="ogi-ocr-") as tmp:
        path = os.path.join(tmp, "img")
        with open(path, "wb") as fh:
            fh.write(data)
        text, problems, geometry = ocr_files([path])
    text, snapped = snap_labels(text)
    return Extracted(format="image", text=clean_ocr(text), ocr=True, problems=problems + snapped,
                     geometry=geometry)
