"""Tables 2, 3 and 4 of an annual report: which template, which tables, every cell under its id.

What it is for: `parse_tables(doc)` reads the `Extracted` text (table rows as TAB-joined lines,
one-cell-per-line web text, tab-separated PDF text, or cells run together without separators)
and returns the template decided from the table headers, the tables present and their cells
under the codebook ids. It walks the codebook's fixed label sequence: a row is found by its
label (group + number + text, in template order) and its values are read from the same line
when the line holds them, otherwise from what follows the label up to the next label. Cells run
together ("640020470") are split by enumeration and kept only when the identities (row totals,
column balances, block totals) leave one reading; table 2 has no identities, so its rows use, in
order, a number printed n times, an unchanged 本年增/减, a figure the text states, and the one
plausible stock and flow (`_stock_flow_reading`), every such reading flagged; else left unread
(a procurement count and amount in one cell likewise: read only when one cut exists).

What it must never do: invent a table the document lacks (no label, no cells), fill a cell it
could not read, correct a source's arithmetic, look at file names/agencies/years, or do I/O.
"""
from __future__ import annotations

import bisect
import functools
import itertools
import math
import re
import unicodedata
from dataclasses import dataclass, field

from parsers import checks, codebook, numbers
from parsers.document import Extracted, Problem

# --------------------------------------------------------------------------- result


@dataclass
class TablesFound:
    template: str | None = None
    tables: dict = field(default_factory=lambda: {"t2": False, "t3": False, "t4": False})
    cells: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    t3_rows_found: int = 0            # how many table-3 row labels were found (template choice)
    # cell id -> how its value was read (PROVENANCE kinds), with page and box when the source has them
    provenance: dict = field(default_factory=dict)


# How a cell's value was read, for `provenance[cell]["how"]` (the site's legend says the same):
PROVENANCE = {
    "table_cell": "read from its own cell of the table",
    "text_line": "read from a line of text after the row's label (no table cells in the source)",
    "split": "digits printed run together, split the only way they (and the table's sums) allow",
    "ocr": "read from a scan by OCR: both engines gave this number",
    "inferred": "chosen among several readings (a prior, a figure in the text, a row total); check the source",
}


# --------------------------------------------------------------------------- compact text
# Labels are matched in a "compact" copy of the text (NFKC, no whitespace, no quotes, 其它->其他)
# whose every character remembers its offset in the original, so values can be read from the
# original with its separators (TABs, line breaks, spaces) intact.
_DROP = set("\"'“”‘’「」『』＂\u200b\ufeff")


_KEEP_RUN = re.compile(r"[^\s\"'“”‘’「」『』＂\u200b\ufeff]+")


class Compact:
    def __init__(self, text: str):
        if not unicodedata.is_normalized("NFKC", text):
            self._slow(text)
        else:
            # extraction already applied NFKC: only whitespace and quotes go, by runs
            parts: list[str] = []
            index: list[int] = []
            for m in _KEEP_RUN.finditer(text):
                parts.append(m.group(0))
                index.extend(range(m.start(), m.end()))
            self.text = "".join(parts).replace("其它", "其他")
            self.index = index
        self.original = text

    def _slow(self, text: str) -> None:
        chars: list[str] = []
        index: list[int] = []
        for i, ch in enumerate(text):
            if ch.isspace() or ch in _DROP:
                continue
            if ch.isascii():
                chars.append(ch)
                index.append(i)
                continue
            for c in unicodedata.normalize("NFKC", ch):
                if c.isspace() or c in _DROP:
                    continue
                chars.append(c)
                index.append(i)
        self.text = "".join(chars).replace("其它", "其他")
        self.index = index

    def orig(self, pos: int) -> int:
        """Original offset of compact position `pos` (end positions map past the last char)."""
        if pos >= len(self.index):
            return len(self.original)
        return self.index[pos]

    def orig_end(self, end: int) -> int:
        if end <= 0:
            return 0
        return self.index[end - 1] + 1


# --------------------------------------------------------------------------- label patterns
_CN_NUM = "一二三四五六七八九十"
_PREFIX = re.compile(rf"^(?:\(([{_CN_NUM}]+)\)|([{_CN_NUM}]+)、|(\d{{1,2}})[.、])")


def _prefix_alternatives(label: str) -> tuple[str, str]:
    """Split a folded label into (regex for its numbering, core text)."""
    m = _PREFIX.match(label)
    if not m:
        return "", label
    core = label[m.end():]
    if m.group(1):
        num = m.group(1)
        return rf"(?:\({num}\)|{num}、|{num})", core
    if m.group(2):
        num = m.group(2)
        return rf"(?:{num}、|\({num}\)|{num})", core
    num = m.group(3)
    # the separator is required: a bare digit before a label may as well be the row before's last value
    return rf"(?:{num}[.、,])", core


@functools.lru_cache(maxsize=512)
def _label_regex(labels: tuple[str, ...], wrapped: bool = False) -> re.Pattern:
    """One regex for a row/column label and its variants: optional numbering, then the core."""
    alts = []
    for label in labels:
        prefix, core = _prefix_alternatives(label)
        if not core:
            continue
        alts.append((len(core), prefix, core))
        # A wrapped cell can lose its last characters to the next line, after the values
        # (行政规范性文 77 132 470 / 件): a long core also matches without its last one or two.
        if wrapped and len(core) >= 6:
            for cut in (1, 2):
                alts.append((len(core) - cut, prefix, core[:-cut]))
    alts.sort(key=lambda x: -x[0])
    parts = []
    for _, prefix, core in alts:
        part = re.escape(core)
        if prefix and len(core) <= 3:
            # a short core (3.其他) is only a row label with its number; bare it is prose
            parts.append(f"(?:{prefix}){part}")
        else:
            parts.append(f"(?:{prefix})?{part}" if prefix else part)
    return re.compile("|".join(parts))


def _extend_annotation(ctext: str, end: int) -> int:
    """Swallow a bracketed annotation right after a label: 规章(市政府令), 部分公开(区分处理的...).

    A bracketed Chinese numeral is the numbering of the next row's group ((五)不予处理 repeated
    beside each of its rows in a grid), never an annotation: after a row whose cells are all
    blank (nothing left between the labels in the compact text) swallowing it would make the
    row read the next row's cells."""
    while end < len(ctext) and ctext[end] == "(":
        close = ctext.find(")", end, end + 60)
        if close < 0 or re.fullmatch(rf"[{_CN_NUM}]+", ctext[end + 1:close]):
            break
        # digits not part of a date (截至2022年1月10日): the row's values
        digit = re.search(r"\d+(?![\d年月日号])", ctext[end + 1:close])
        if digit:
            # the row's values inside its annotation: a wrapped cell printed around its values
            # ((二)部分公开(区分处理的,只计这 / 29 0 0 … / 一情形,不计其他情形)): stop before them
            return end + 1 + digit.start()
        end = close + 1
    return end


@dataclass
class _Match:
    """The part of a regex match that `find_rows` uses, for approximate matches."""
    s: int
    e: int

    def start(self) -> int:
        return self.s

    def end(self) -> int:
        return self.e


def _fuzzy_search(labels, ctext: str, pos: int, hi: int):
    """OCR only: a long label core with one misread character in eight (禁->林, 转->续)."""
    cores = sorted({_prefix_alternatives(l)[1] for l in labels}, key=len, reverse=True)
    for core in cores:
        L = len(core)
        if L < 6:
            continue
        allowed = max(1, L // 8)
        for i in range(pos, max(pos, hi - L + 1)):
            miss = 0
            for a, b in zip(ctext[i:i + L], core):
                if a != b:
                    miss += 1
                    if miss > allowed:
                        break
            if miss <= allowed and ctext[i] == core[0] or miss <= allowed and ctext[i + L - 1] == core[-1]:
                return _Match(i, i + L)
    return None


def _near_label(labels, ctext: str, lo: int, hi: int, others=()):
    """The one place in ctext[lo:hi] closest to a label core (edit distance: a character or, for long
    labels, a quarter of them missing, wrong or extra), if it is close enough and no other place is
    as close. The window holds no digit (values are not label text); past one edit, and for short
    labels, the row's own numbering (2. / (三)) must stand right before it."""
    from rapidfuzz.distance import Levenshtein

    gap = ctext[lo:hi]
    best: tuple[int, int, int] | None = None
    tie = False
    # the row's numbering, from whichever of its labels has one (unnumbered variants need it too)
    numbering = next((p for p in (_prefix_alternatives(l)[0] for l in labels) if p), "")
    for label in labels:
        prefix, core = _prefix_alternatives(label)
        prefix = prefix or numbering
        L = len(core)
        if L < 6 and not prefix or L < 4:
            continue            # a short core counts only with its numbering: （六）其处理
        allowed = 1 if L < 10 else L // 4
        seen: dict[tuple[int, int], int] = {}
        for i in range(len(gap)):
            if gap[i].isdigit():
                continue
            for w in range(max(3, L - allowed), L + allowed + 1):
                piece = gap[i:i + w]
                if len(piece) < w or any(ch.isdigit() for ch in piece):
                    break
                if not piece[0].isalpha():
                    break               # a label starts with a character, not the "." of 3.
                d = Levenshtein.distance(piece, core, score_cutoff=allowed)
                if d > allowed or (piece[0] != core[0] and piece[-1] != core[-1]):
                    continue
                numbered = re.search(f"(?:{prefix})$", gap[:i]) if prefix else None
                if numbered and numbered.group(0).isdigit():
                    numbered = None     # a bare digit may as well be the last value of the row before
                if (d > 1 or L < 6) and not numbered:
                    continue            # past one edit (and for short labels) the numbering must stand
                # the numbering is the label's, not the digits of the row before (…0000000 2.其他…)
                seen[(numbered.start() if numbered else i, i + w)] = d
        # a long label wrapped around its values (5.要求行政机关确认或重新 / 0 0 0 … / 出具已获取信息):
        # its first half or more, numbered, right before the digits
        if L >= 8 and prefix:
            for m in re.finditer(f"(?:{prefix})({re.escape(core[:(L + 1) // 2])}[^\\d]*?)(?=\\d)", gap):
                head, number = m.group(1), m.group(0)[:m.start(1) - m.start()]
                if len(head) < L - 2 and core.startswith(head) and not number.isdigit():
                    seen.setdefault((m.start(), m.end()), 1)
        for (a, b), d in seen.items():
            if best is None or d < best[0]:
                best, tie = (d, a, b), False
            elif d == best[0] and not (a < best[2] and best[1] < b):
                if any(ch.isdigit() for ch in gap[min(b, best[2]):max(a, best[1])]):
                    tie = True      # as close at another row's place: not ours to choose
                elif a > best[1]:
                    best = (d, a, b)    # the label repeated (a merged cell): the copy before the values
    if best is None or tie or best[0] == 0:
        return None
    # text as close to another row's label is that row's (本年新收… repeated in merged cells is
    # row 一, not a misprinted row 二)
    text = ctext[lo + best[1]:lo + best[2]]
    for other in others:
        core = _prefix_alternatives(other)[1]
        if len(core) >= 4 and Levenshtein.distance(text, core) <= best[0]:
            return None
    return _Match(lo + best[1], lo + best[2])


# --------------------------------------------------------------------------- value cells
_VALUE_CELL = re.compile(
    r"^[+\-]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)?\s*(?:万元|万|元|件|个|项|条)?$|^(?:增加|减少|新增|减)\d+(?:\.\d+)?$")


def _is_value_cell(cell: str) -> bool:
    c = cell.strip()
    if c == "" or (c.isascii() and c.isdigit()):
        return True
    if numbers.is_blank(c):
        return True
    c2 = re.sub(r"\s+", "", unicodedata.normalize("NFKC", c))
    if _VALUE_CELL.match(c2) and re.search(r"\d", c2):
        return True
    # digits broken by spaces (several cells run together in one cell)
    return bool(re.fullmatch(r"[\d\s]+", c)) and bool(re.search(r"\d", c))


_RUN = re.compile(
    r"(?:[\s\d.,+/\-—―－−–%]|万元|万|元|件|个|项|条|增加|减少|无(?![\u3400-\u9fff])|空(?![\u3400-\u9fff]))+")


def _thousands_pair(parts: list[str]) -> bool:
    """Two neighbours that may be one number in thousands groups: 1–3 digits, then exactly 3."""
    return any(re.fullmatch(r"\d{1,3}", a) and re.fullmatch(r"\d{3}(?:\.\d+)?(?:万元|万|元)?", b)
               for a, b in zip(parts, parts[1:]))


def _split_space_cells(cells: list[str]) -> list[str]:
    out = []
    for c in cells:
        parts = []
        for p in c.split():
            if parts and not re.search(r"\d", p) and re.fullmatch(r"万元|万|元|件|个|项|条", p):
                parts[-1] += p          # a unit printed apart is its number's (251000 元)
            else:
                parts.append(p)
        if len(parts) > 1 and all(_is_value_cell(p) and p.strip() for p in parts):
            out.extend(parts)
        else:
            out.append(c)
    return out


@dataclass
class RowRead:
    """How a row's values were read: exact cells, or a run of digits to split later."""
    cells: list[str] | None = None
    blob: str | None = None          # digits with spaces as known cell boundaries
    how: str = ""
    short: list[str] | None = None   # the values seen when one fewer than needed
    pos: list | None = None          # index among the values given to _resolve_cells, per cell
    where: list | None = None        # (line of the text, TAB cell of that line) per cell, or None
    kind: str = "text_line"          # table_cell: the values came from a TAB row's own cells


def _merge_dedupe(cells: list[str], n: int) -> list[str] | None:
    """Cells repeated over a merged span collapse back; only if every way gives one answer."""
    k = len(cells) - n
    if k <= 0:
        return None
    equal_pairs = [i for i in range(len(cells) - 1) if cells[i].strip() == cells[i + 1].strip()]
    if len(equal_pairs) < k:
        return None
    results = set()
    for combo in itertools.combinations(equal_pairs, k):
        drop = {i + 1 for i in combo}
        results.add(tuple(c for j, c in enumerate(cells) if j not in drop))
        if len(results) > 1:
            return None
    return list(results.pop()) if results else None


def _resolve_cells(vals: list[str], n: int, *, prefer_positional: bool = True,
                   header_cols: list[int] | None = None) -> RowRead:
    """Choose the n value cells of a row from the cells that follow its label; `pos` says which."""
    rr = _choose_cells(vals, n, prefer_positional=prefer_positional, header_cols=header_cols)
    if rr.cells is not None and rr.pos is None:
        # the chosen cells are vals[i] for increasing i when they appear in order, one each
        pos, j = [], 0
        for c in rr.cells:
            while j < len(vals) and vals[j] != c:
                j += 1
            pos.append(j if j < len(vals) else None)
            j += 1
        rr.pos = pos if None not in pos else None
    return rr


def _choose_cells(vals: list[str], n: int, *, prefer_positional: bool = True,
                  header_cols: list[int] | None = None) -> RowRead:
    nonblank = [c for c in vals if c.strip()]
    if header_cols is not None and len(vals) != n and len(nonblank) != n:
        # extra columns (小计, aggregates) or blanks: the header's positions decide
        return RowRead(cells=[vals[i] for i in header_cols], how="header", pos=list(header_cols))
    if len(vals) == n and prefer_positional:
        return RowRead(cells=list(vals), how="positional")
    if len(nonblank) == n:
        return RowRead(cells=nonblank, how="nonblank")
    if len(nonblank) > n:
        merged = _merge_dedupe(nonblank, n)
        if merged is not None:
            return RowRead(cells=merged, how="merged")
        # a surplus trailing extractor cell: position in the fixed order wins
        return RowRead(cells=nonblank[:n], how="surplus")
    spaced = _split_space_cells(nonblank)
    if len(spaced) == n == 2 and len(spaced) > len(nonblank) and _thousands_pair(spaced):
        # a count and an amount (12 345 元) that are also one grouped number with a blank
        # lost (12,345 元): two readings, none safe
        return RowRead(how="unreadable")
    if len(spaced) == n:
        # several values printed in one cell, apart by spaces: that cell for each of them
        owner = [k for k, c in enumerate(vals) if c.strip() for _ in (c.split() if len(c.split()) > 1 and
                 all(_is_value_cell(p) and p.strip() for p in c.split()) else [c])]
        return RowRead(cells=spaced, how="spaced", pos=owner if len(owner) == n else None)
    if len(vals) > n:
        trimmed = list(vals)
        while len(trimmed) > n and not trimmed[-1].strip():
            trimmed.pop()
        while len(trimmed) > n and not trimmed[0].strip():
            trimmed.pop(0)
        if len(trimmed) == n:
            return RowRead(cells=trimmed, how="trimmed")
    digits = "".join(nonblank)
    if nonblank and re.fullmatch(r"[\d\s]+", " ".join(nonblank)) and len(re.sub(r"\D", "", digits)) >= n:
        return RowRead(blob=" ".join(nonblank), how="blob")
    if nonblank and re.fullmatch(r"\d[\d\s]*(?:-\d[\d\s]*)+", " ".join(nonblank)):
        return RowRead(blob=" ".join(nonblank), how="signed blob")      # 2648-18538: a printed minus
    if len(vals) == n:
        return RowRead(cells=list(vals), how="positional")
    if len(spaced) == n - 1:
        return RowRead(how="unreadable", short=spaced)
    return RowRead(how="unreadable")


# --------------------------------------------------------------------------- run-together splits


def _splits_spaced_numbers(blob: str, n: int) -> bool:
    """Reading `blob` as n cells cuts numbers the text prints apart (258 12 1 1 as seven cells):
    the row's blank cells were lost, not its digits run together, so no cut is taken (2|5|8|1|2|1|1
    was published; even a cut the row total accepts splits a printed number)."""
    tokens = blob.split()
    return 1 < len(tokens) < n


def split_blob(blob: str, n: int, limit: int = 50000) -> list[list[int]]:
    """Every way to cut a run of digits into n numbers (no leading zeros; spaces are cuts)."""
    groups = [g for g in blob.split() if g]
    if not groups or not all(g.isdigit() for g in groups):
        return []
    digits = "".join(groups)
    forced = set()
    pos = 0
    for g in groups[:-1]:
        pos += len(g)
        forced.add(pos)
    L = len(digits)
    if L < n:
        return []
    out: list[list[int]] = []

    def rec(start: int, parts: list[int]):
        if len(out) >= limit:
            return
        remaining = n - len(parts)
        if remaining == 0:
            if start == L:
                out.append(list(parts))
            return
        if L - start < remaining:
            return
        max_end = L - (remaining - 1)
        for end in range(start + 1, max_end + 1):
            piece = digits[start:end]
            if len(piece) > 1 and piece[0] == "0":
                break
            # a forced cut inside this piece is not allowed
            if any(start < f < end for f in forced):
                break
            if remaining == 1 and end != L:
                continue
            parts.append(int(piece))
            rec(end, parts)
            parts.pop()

    rec(0, [])
    # every forced cut must be a boundary
    good = []
    for parts in out:
        bounds, acc = set(), 0
        for p in parts[:-1]:
            acc += len(str(p))
            bounds.add(acc)
        if forced <= bounds:
            good.append(parts)
    return good


# Plausibility of a stock-and-flow row (本年制发, 本年废止, 现行有效), for digits run together when
# nothing else decides. Normative documents are issued for a few years (usually at most five;
# 国办发〔2018〕37号 asks for validity periods), so the stock in force is typically several years'
# issuance, and a year repeals a share of the documents in force, rarely nearly all. A reading must beat
# every other by a clear margin (likelihood ratio e^1.5), or the row stays unread.
_STOCK_FLOW = ("issued", "repealed", "in_force")
# The 2019 format's counterpart: made and published this year (nearly always the same number,
# what is made is published) and the total ever published, a stock of several years.
_STOCK_2019 = ("made", "published", "total_public")
_STOCK_YEARS = 5.0
_STOCK_MARGIN = 1.5


_STATED_BONUS = 3.0      # a figure the report states in words: likelihood ratio e^3 for agreeing
# how prose words a column's verb (the table says 制发, the text 制定 or 印发)
_PROSE_VERBS = {"制发": ("制定", "印发")}


def _is_stock_row(ids: list[str]) -> bool:
    return tuple(cid.rsplit(".", 1)[1] for cid in ids) in (_STOCK_FLOW, _STOCK_2019)


def _log_ratio(a: int, b: float) -> float:
    return math.log(a + 1) - math.log(b + 1)          # no float overflow on long digit runs


def _stock_flow_reading(ids: list[str], cands: list[list[int]],
                        near: dict[int, set[int]] | None = None,
                        stated: dict[int, set[int]] | None = None) -> list[int] | None:
    """The one plausible reading of a run-together stock-and-flow row, else None.

    `near`: figures the text states for a column that no reading prints (393 in force at a
    cleanup earlier in the year): a reading close to them in magnitude is the likelier.
    """
    cols = tuple(cid.rsplit(".", 1)[1] for cid in ids)
    if not _is_stock_row(ids) or len(cands) < 2:
        return None
    scored = []
    for cand in cands:
        if cols == _STOCK_FLOW:
            issued, repealed, in_force = cand
            # (fewer in force than issued happens, e.g. short-lived documents: only the prior
            # below makes it unlikely, nothing rules it out)
            stock = _log_ratio(in_force, 0) - math.log(_STOCK_YEARS) - _log_ratio(issued, 0)
            # share of all the documents alive during the year that were repealed: cleanups
            # happen, wiping out nearly everything does not (density falls linearly to 0 at 1)
            share = repealed / (in_force + repealed) if in_force + repealed else 0.0
            score = -stock * stock / 2 + math.log(max(1.0 - share, 1e-9))
        else:
            made, published, total = cand
            if total < published:
                continue                   # the total includes this year's
            stock = _log_ratio(total, 0) - math.log(_STOCK_YEARS) - _log_ratio(published, 0)
            same = _log_ratio(made, published) / 0.5
            score = -(stock * stock + same * same) / 2
        for i, figures in (near or {}).items():
            score -= min(_log_ratio(cand[i], f) ** 2 for f in figures) / 2
        score += _STATED_BONUS * sum(cand[i] in figures for i, figures in (stated or {}).items())
        scored.append((score, list(cand)))
    scored.sort(key=lambda x: x[0], reverse=True)
    if not scored or (len(scored) > 1 and scored[0][0] - scored[1][0] < _STOCK_MARGIN):
        return None
    return scored[0][1]


# --------------------------------------------------------------------------- template detection


def detect_template(ctext: str) -> str | None:
    """The template from header cues (codebook `detect`); None when no cue is present."""
    scores = {}
    for tid in codebook.TEMPLATES:
        tpl = codebook.template(tid)
        scores[tid] = sum(1 for cue in tpl.strong_cues if codebook.fold(cue) in ctext)
    best = max(scores.values())
    if best == 0:
        return None
    winners = [t for t, s in scores.items() if s == best]
    if len(winners) == 1:
        return winners[0]
    # equal evidence: a table-3 row that only one template has (the （六） sub-rows) decides
    for tid in codebook.TEMPLATES:
        others = {r.id for t in codebook.TEMPLATES if t != tid for r in codebook.template(t).tables["t3"].rows}
        own = [r for r in codebook.template(tid).tables["t3"].rows if r.id not in others]
        if any(_label_regex(r.labels).search(ctext) for r in own if len(r.label) > 8):
            return tid
    return None


# --------------------------------------------------------------------------- the walk


@dataclass
class _Anchor:
    row_id: str
    start: int          # compact
    end: int            # compact, after any annotation


class _Parser:
    def __init__(self, doc: Extracted, template_id: str, compact: Compact | None = None):
        self.doc = doc
        self.text = doc.text or ""
        self.c = compact or Compact(self.text)
        self.tid = template_id
        self.tpl = codebook.template(template_id)
        self.problems: list[Problem] = []
        self.money = codebook.money_cells(template_id)
        self.prov: dict[str, dict] = {}
        self._line_starts: list[int] | None = None
        self._read_as: tuple[str, str] | None = None     # how the last run-together row was read

    # -- provenance ----------------------------------------------------------------------
    def _geometry(self, where) -> dict | None:
        """The source's page, box (and OCR readings) of the TAB cell `where` = (line, cell)."""
        if where is None:
            return None
        line, k = where
        cells = self.doc.geometry.get(line)
        if not cells or k >= len(cells) or cells[k] is None:
            return None
        start = self._line_starts[line]
        end = self.text.find("\n", start)
        if self.text[start:len(self.text) if end < 0 else end].count("\t") + 1 != len(cells):
            return None              # the line is not the row the geometry describes
        return cells[k]

    def _mark(self, ids, how: str, rr: RowRead | None = None, note: str | None = None) -> None:
        """Record how the cells `ids` were read (PROVENANCE), with the source's page and box."""
        for k, cid in enumerate(ids):
            p = {"how": how}
            g = self._geometry(rr.where[k]) if rr is not None and rr.where and k < len(rr.where) else None
            if g:
                p.update({key: g[key] for key in ("page", "box", "box_px") if key in g})
                if "ocr" in g:
                    p["ocr"] = g["ocr"]
            if self.doc.ocr and how in ("table_cell", "text_line"):
                decided = (p.get("ocr") or {}).get("decided", "")
                # a cell OCR settled by the row total is a choice among readings, not a reading
                p["how"] = "inferred" if decided.startswith("chosen by") else "ocr"
                if p["how"] == "inferred":
                    note = note or decided
            if note:
                p["note"] = note
            self.prov[cid] = p

    def _marked(self, ids, values: dict | None, default: str, note: str) -> dict | None:
        """Values of a run-together row, marked as the reader says it read them (self._read_as)."""
        if values is not None:
            how, why = self._read_as or (default, note)
            self._mark(ids, how, note=why)
        self._read_as = None
        return values

    # -- lines ---------------------------------------------------------------------------
    def line_number(self, orig_pos: int) -> int:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        return bisect.bisect_right(self._line_starts, orig_pos) - 1

    def line_of(self, orig_pos: int) -> tuple[int, int]:
        start = self.text.rfind("\n", 0, orig_pos) + 1
        end = self.text.find("\n", orig_pos)
        return start, (len(self.text) if end < 0 else end)

    # -- anchors -------------------------------------------------------------------------
    def find_rows(self, rows, start: int, limit: int, window: int = 800,
                  first_window: int | None = None) -> list[_Anchor]:
        """Find each row label in template order; a row missing from the text is skipped.

        After the first row is found, every later row must follow within `window` compact
        characters of the previous one, so prose that repeats a short label (予以公开...) far
        away is never taken for a row.
        """
        ctext = self.c.text
        regexes = [(r.id, _label_regex(r.labels, wrapped=True)) for r in rows]
        found: list[_Anchor] = []
        pos = start
        for i, (rid, rx) in enumerate(regexes):
            if found:
                hi = min(limit, pos + window)
            else:
                hi = limit if first_window is None else min(limit, start + first_window)
            m = rx.search(ctext, pos, hi)
            if not m and self.doc.ocr:
                m = _fuzzy_search(rows[i].labels, ctext, pos, hi)
            if not m:
                continue
            # if one of the next rows comes first, this row is missing here
            skip = False
            if found:
                for _, nrx in regexes[i + 1:i + 3]:
                    nm = nrx.search(ctext, pos, m.start())
                    if nm and nm.end() <= m.start():
                        skip = True
                        break
            if skip:
                continue
            end = _extend_annotation(ctext, m.end())
            found.append(_Anchor(rid, m.start(), end))
            pos = end
        return self._fill_misprinted(rows, found, start, limit, window)

    def _fill_misprinted(self, rows, found: list[_Anchor], start: int, limit: int, window: int) -> list[_Anchor]:
        """Rows the exact pass missed, read as a human reader would: a label printed with characters
        missing, wrong or extra (2.其他法律行政止公开) is the row the template puts between the rows
        found on either side of it. Looked for only in that gap, and only when one place fits best."""
        if not found:
            return found
        ctext = self.c.text
        order = {r.id: k for k, r in enumerate(rows)}
        out = list(found)
        for k, row in enumerate(rows):
            if any(a.row_id == row.id for a in out):
                continue
            others = tuple(l for r in rows if r.id != row.id for l in r.labels)
            before = [a for a in out if order[a.row_id] < k]
            after = [a for a in out if order[a.row_id] > k]
            if not before and not after:
                continue
            lo = before[-1].end if before else max(start, after[0].start - window)
            hi = after[0].start if after else min(limit, lo + window)
            m = _near_label(row.labels, ctext, lo, hi, others)
            if m:
                out.append(_Anchor(row.id, m.start(), _extend_annotation(ctext, m.end())))
                out.sort(key=lambda a: order[a.row_id])
                self.problems.append(Problem("label_misprinted", f"row {row.id} read from "
                                             f"“{ctext[m.start():m.end()]}” between its neighbours"))
        return out

    # -- reading the values after an anchor ---------------------------------------------
    def read_after(self, anchor: _Anchor, next_start: int, n: int, header_cols=None) -> RowRead:
        o_end = self.c.orig_end(anchor.end)
        o_next = self.c.orig(next_start) if next_start < len(self.c.text) else len(self.text)
        line_start, line_end = self.line_of(max(o_end - 1, 0))
        rest = self.text[o_end:min(line_end, o_next)]
        if "\t" in rest:
            full = self.text[line_start:line_end].split("\t")
            label_idx = self.text[line_start:o_end].count("\t")
            tail = full[label_idx][len(self.text[line_start:o_end].split("\t")[-1]):]
            j = label_idx + 1
            # skip repeated labels and stray text cells before the values (merged cells, '理')
            while j < len(full) and full[j].strip() and not _is_value_cell(full[j]):
                j += 1
            v0 = j
            vals = []
            at = []                     # each value's TAB cell in the line
            while j < len(full) and (not full[j].strip() or _is_value_cell(full[j])):
                vals.append(full[j])
                at.append(j)
                j += 1
            if tail.strip() and _is_value_cell(tail):
                # the first value printed in the label's own cell (a lost TAB)
                vals.insert(0, tail)
                at.insert(0, label_idx)
            if any(v.strip() for v in vals) or len(vals) >= n:
                hc = None
                if header_cols is not None and len(full) == header_cols[0]:
                    rel = [i - v0 for i in header_cols[1]]
                    if all(0 <= r < len(vals) for r in rel):
                        hc = rel
                rr = _resolve_cells(vals, n, header_cols=hc)
                rr.kind = "table_cell"
                if rr.pos is not None:
                    line = self.line_number(line_start)
                    rr.where = [None if p is None or p >= len(at) else (line, at[p]) for p in rr.pos]
                return rr
        # values on the following lines, or run together in the same cell
        region = self.text[o_end:o_next]
        region = unicodedata.normalize("NFKC", region)
        runs = [m for m in _RUN.finditer(region)]
        chosen = None
        for m in runs:
            if re.search(r"[\d/\-—―－−–无空]", m.group(0)):
                chosen = m
                break
        if chosen is None:
            # every cell blank, one per line: n lone TABs before the row ends (a blank line);
            # repeated labels and stray text before them are layout
            rlines = region.split("\n")
            k = 0
            while k < len(rlines) and (rlines[k].strip() == "" and k == 0 or
                                       rlines[k].strip() and not _is_value_cell(rlines[k])):
                k += 1
            region = "\n".join([""] + rlines[k:])
            m0 = re.match(r"[ \t\n]*", region)
            first = re.split(r"\n[ ]*\n", m0.group(0).strip("\n"), maxsplit=1)[0] if m0 else ""
            if first and len(first.split("\n")) == n and all(ln.strip() == "" and "\t" in ln
                                                             for ln in first.split("\n")):
                return RowRead(cells=[""] * n, how="one-per-line blank")
            return RowRead(how="empty")
        # Junk text between the label and its values is allowed only at the start.
        run = chosen.group(0)
        lines = run.split("\n")
        cells: list[str] = []
        one_per_line = sum(1 for ln in lines if ln.strip()) >= 2 and all(
            ln.count("\t") <= 1 for ln in lines)
        if one_per_line:
            # A blank line closes a table row: the first row-group holding a value is this
            # row's cells, one per line, so a lone TAB there is a blank cell in its place.
            group: list[str] = []
            for ln in lines + [""]:
                if ln == "":
                    if any(c.strip() for c in group):
                        break
                    group = []
                    continue
                group.append(ln.split("\t")[-1] if "\t" in ln else ln)
            if len(group) == n:
                return RowRead(cells=group, how="one-per-line")
            for ln in lines:
                if ln == "":
                    continue                      # a row separator
                cells.append(ln.split("\t")[-1] if "\t" in ln else ln)
            # leading/trailing lone-tab lines are layout, not blank cells, when counts allow
            return _resolve_cells(cells, n, prefer_positional=False)
        for ln in lines:
            if "\t" in ln:
                cells.extend(ln.split("\t"))
            elif ln.strip():
                cells.append(ln)        # an empty line is a line end, not a blank cell
        return _resolve_cells([c for c in cells], n, prefer_positional=False)

    # -- cell values ---------------------------------------------------------------------
    def value(self, cell_id: str, cell: str, header_unit: str | None = None):
        money = cell_id in self.money
        reading = numbers.read_cell(cell, signed=codebook.is_signed(cell_id), money=money,
                                    header_unit=header_unit)
        if reading.problem == "unit_assumed":
            self.problems.append(Problem("unit_assumed",
                                         f"{cell_id}: no unit in the cell or its header; read as 万元"))
        return reading.value

    # -- table 2 -------------------------------------------------------------------------
    def parse_t2(self, start: int, limit: int) -> tuple[dict, int, int]:
        """Cells of table 2 and the compact span it occupies (end = after its last row)."""
        ctext = self.c.text
        t2 = self.tpl.tables["t2"]
        captions = []
        for b in t2.blocks:
            labels = tuple(codebook.normalise_label(x, strip_annotation=False)
                           for x in (b.caption, *b.caption_variants) if x)
            captions.append(_label_regex(labels))
        # Table 2 starts at its first caption or column header; OCR and odd brackets may spoil
        # the first ones, so any block's caption or header counts, and so does heading 二.
        col_rx = _label_regex(tuple(codebook.normalise_label(c.label) for b in t2.blocks for c in b.columns))
        hits = [m.start() for rx in (*captions, col_rx) for m in [rx.search(ctext, start, limit)] if m]
        if not hits:
            return {}, -1, -1
        t2_start = min(hits)
        heading = _label_regex(tuple(codebook.normalise_label(l) for l in self._section_labels("2")))
        hm = None
        for hm in heading.finditer(ctext, max(start, t2_start - 300), t2_start):
            pass
        if hm is not None:
            t2_start = hm.end()
        rows = [r for b in t2.blocks for r in b.rows]
        anchors = self.find_rows(rows, t2_start, limit, first_window=1500)
        cells: dict = {}
        if not anchors:
            return {}, -1, -1
        self._note_missing_rows("table 2", rows, anchors)
        row_block = {r.id: b for b in t2.blocks for r in b.rows}
        unit_of = {}
        for b in t2.blocks:
            for col in b.columns:
                if col.unit:
                    # the codebook's unit when it is a plain unit (2021: 万元 by the format)
                    rx = _label_regex(col.labels)
                    mm = rx.search(ctext, t2_start, limit)
                    unit_of[col.id] = None
                    if mm:
                        hdr = self.text[self.c.orig(mm.start()):self.c.orig_end(_extend_annotation(ctext, mm.end()))]
                        unit_of[col.id] = numbers.header_unit(hdr)
                    if unit_of[col.id] is None and col.unit in ("万元", "元"):
                        unit_of[col.id] = col.unit
        for i, a in enumerate(anchors):
            nxt = anchors[i + 1].start if i + 1 < len(anchors) else self._t2_tail_limit(a.end, limit)
            block = row_block[a.row_id]
            n = len(block.columns)
            rr = self.read_after(a, nxt, n)
            ids = [f"t2.{a.row_id}.{c.id}" for c in block.columns]
            values = self._row_values(ids, rr, block, unit_of)
            if values is None:
                self.problems.append(Problem("cell_unreadable", f"table 2 row {a.row_id}: values not readable ({rr.how})"))
                continue
            cells.update(values)
        return cells, t2_start, anchors[-1].end

    def _note_missing_rows(self, table: str, rows, anchors) -> None:
        """A table found with some of its rows not: say which, rather than lose them silently."""
        found = {a.row_id for a in anchors}
        missing = [r.id for r in rows if r.id not in found]
        if missing:
            self.problems.append(Problem("rows_not_found",
                                         f"{table}: row labels not found in the text: {', '.join(missing)}"))

    def _t2_tail_limit(self, pos: int, limit: int) -> int:
        """After the last row of table 2, stop at the heading of table 3 (or its first label)."""
        t3 = self.tpl.tables["t3"]
        headings = (t3.heading, *codebook.vocabulary_variants(t3.heading))
        rx = _label_regex(tuple(codebook.normalise_label(x) for x in headings) + t3.rows[0].labels)
        m = rx.search(self.c.text, pos, limit)
        return m.start() if m else limit

    def _row_values(self, ids, rr: RowRead, block, unit_of) -> dict | None:
        if rr.cells is not None:
            out = {}
            for cid, col, cell in zip(ids, block.columns, rr.cells):
                v = self.value(cid, cell, unit_of.get(col.id))
                if v is None:
                    return None
                out[cid] = v
            self._mark(ids, rr.kind, rr)
            return out
        if rr.blob is not None:
            return self._marked(ids, self._t2_blob(ids, rr.blob, block, unit_of), "split",
                                "digits run together, split the only way they can be")
        if rr.short is not None and len(rr.short) == 1 and len(ids) == 2 and ids[1] in self.money:
            return self._marked(ids, self._t2_money_blob(ids, rr.short[0], block, unit_of), "split",
                                "count and amount run together; one cut only")
        return None

    _MONEY_RUN = re.compile(r"(\d+)((?:\.\d+)?\s*(?:万元|万|元)?)")

    def _t2_money_blob(self, ids, cell, block, unit_of) -> dict | None:
        """A count and an amount run together in one cell (政府集中采购13575394432.52元): the
        amount's decimals and unit end the run, but nothing marks where the count stops, and a
        blank count (nothing printed) is as possible as any cut. Read only when one reading is
        left; else unread, with the reason."""
        m = self._MONEY_RUN.fullmatch(re.sub(r"\s+", "", unicodedata.normalize("NFKC", cell)))
        row = ids[0].rsplit(".", 1)[0]
        if not m:
            return None
        digits, tail = m.group(1), m.group(2)
        readings = []
        if not (len(digits) > 1 and digits[0] == "0"):
            readings.append((0, digits + tail))                   # the count left blank
        for k in range(1, len(digits)):
            count, amount = digits[:k], digits[k:]
            if (len(count) > 1 and count[0] == "0") or (len(amount) > 1 and amount[0] == "0"):
                continue
            readings.append((int(count), amount + tail))
        values = []
        if not tail and not (len(digits) > 1 and digits[0] == "0"):
            values.append((int(digits), 0.0, ""))                # a bare integer may be the count alone
        unit = unit_of.get(block.columns[1].id)
        for count, amount in readings:
            v = numbers.read_cell(amount, money=True, header_unit=unit).value
            if v is not None:
                values.append((count, v, amount))
        if len({(c, v) for c, v, _ in values}) == 1:
            count, _, amount = values[0]
            self.problems.append(Problem(
                "cells_run_together", f"{row}: '{cell}' run together; read as {count}|{amount or '(blank)'}, the only reading"))
            return dict(zip(ids, (count, self.value(ids[1], amount or "0", unit))))
        self.problems.append(Problem(
            "cells_run_together",
            f"{row}: count and amount run together in '{cell}'; {len(values)} cuts possible, nothing marks "
            "where the count ends; left unread"))
        return None

    def _t2_blob(self, ids, blob, block, unit_of) -> dict | None:
        n = len(ids)
        if "-" in blob:
            return self._t2_signed_blob(ids, blob)
        cands = split_blob(blob, n)
        if len(cands) == 1:
            return dict(zip(ids, cands[0]))
        # One number printed n times (898989 -> 89|89|89, made = published = in force) is
        # read that way: any other cut would need the coincidence of a periodic digit string.
        digits = re.sub(r"\s", "", blob)
        for width in range(1, len(digits) // n + 1):
            if len(digits) == width * n and digits == digits[:width] * n and (
                    width == 1 or digits[0] != "0"):
                rep = [int(digits[:width])] * n
                if rep in cands:
                    if len(cands) > 1:
                        self.problems.append(Problem(
                            "cells_run_together",
                            f"{ids[0].rsplit('.', 1)[0]}: digits run together; read as one number repeated"))
                        self._read_as = ("inferred", "digits run together; read as one number repeated")
                    return dict(zip(ids, rep))
        # The signed change column of the 2019 format: without a printed sign, a lone 0 that
        # fits is read as "no change" (the usual case); otherwise the row stays unread.
        change = [i for i, cid in enumerate(ids) if codebook.is_signed(cid)]
        if change:
            zero = [c for c in cands if all(c[i] == 0 for i in change)]
            if len(zero) == 1:
                self.problems.append(Problem(
                    "cells_run_together",
                    f"{ids[0].rsplit('.', 1)[0]}: digits run together; read with an unchanged (0) 本年增/减"))
                self._read_as = ("inferred", "digits run together; read with an unchanged (0) 本年增/减")
                return dict(zip(ids, zero[0]))
        row = ids[0].rsplit(".", 1)[0]
        if len(re.sub(r"\D", "", blob)) > 24:
            self.problems.append(Problem("cells_run_together", f"{row}: '{blob[:40]}…' too long to split; left unread"))
            return None
        # A figure the report's own text states for this row and column (…制发的规范性文件77件)
        # counts for the readings that print it; for a stock-and-flow row it weighs in with the
        # prior, so a stray figure cannot force an implausible reading.
        stated = self._stated_in_prose(block, row.split(".")[1], n)
        agree = [sum(c[i] in stated.get(i, ()) for i in range(n)) for c in cands]
        also = ", agrees with a figure the text states" if stated and max(agree) > 0 else ""
        near = {i: v for i, v in stated.items() if not any(c[i] in v for c in cands)}
        pick = _stock_flow_reading(ids, cands, near, stated)
        if pick is not None:
            self.problems.append(Problem(
                "cells_run_together",
                f"{row}: digits '{blob}' run together; read as {'|'.join(map(str, pick))}, the only "
                f"plausible reading (the stock several years of the yearly flow){also}; check the source"))
            self._read_as = ("inferred", "digits run together; the one plausible stock and flow")
            return dict(zip(ids, pick))
        wide = [sum(c[i] in stated.get(i, ()) and c[i] >= 10 for i in range(n)) for c in cands]
        if not _is_stock_row(ids) and stated and max(wide) > 0 and wide.count(max(wide)) == 1:
            only = cands[wide.index(max(wide))]
            self.problems.append(Problem(
                "cells_run_together",
                f"{row}: digits '{blob}' run together; read as {'|'.join(map(str, only))}, the one "
                "reading that agrees with a figure the text states; check the source"))
            self._read_as = ("inferred", "digits run together; the reading a figure in the text states")
            return dict(zip(ids, only))
        self.problems.append(Problem(
            "cells_run_together", f"{row}: '{blob}' splits {len(cands)} ways; left unread"))
        return None

    def _t2_signed_blob(self, ids, blob) -> dict | None:
        """Digits run together around one printed minus (35-15): the minus starts the signed
        本年增/减 column, so the cut before it is certain; each side is split alone. Read only
        when that leaves one reading and the '-' cannot be a blank change (40-15)."""
        row = ids[0].rsplit(".", 1)[0]
        signed = [i for i, cid in enumerate(ids) if codebook.is_signed(cid)]
        left, _, right = blob.partition("-")
        if len(signed) != 1 or "-" in right or not left.strip():
            self.problems.append(Problem("cells_run_together", f"{row}: '{blob}' not readable; left unread"))
            return None
        s = signed[0]
        lefts, rights = split_blob(left, s), split_blob(right, len(ids) - s)
        cands = [a + [-b[0]] + b[1:] for a in lefts for b in rights]
        # '-' is also how a blank 本年增/减 is printed (40-15: 40 | – | 15)
        as_blank = [a + [0] + b for a in lefts for b in split_blob(right, len(ids) - s - 1)] \
            if len(ids) - s - 1 > 0 else []
        if len(cands) == 1 and not as_blank:
            return dict(zip(ids, cands[0]))
        self.problems.append(Problem(
            "cells_run_together", f"{row}: '{blob}' splits {len(cands)} ways; left unread"))
        return None

    def _stated_in_prose(self, block, row_id: str, n: int) -> dict[int, set[int]]:
        """{column index: numbers} the text states as '<column verb> … <row label> N件'.

        The verb is the column label without its 本年/件数 frame (制发, 废止, 现行有效); no digit or
        clause break may come between verb, row label and number, so the table's own run of
        labels and digits never matches itself.
        """
        row = next((r for r in block.rows if r.id == row_id), None)
        if row is None:
            return {}
        nouns = "|".join(sorted({re.escape(x) for x in row.labels}, key=len, reverse=True))
        out: dict[int, set[int]] = {}
        for i, col in enumerate(block.columns[:n]):
            verbs = {re.sub(r"^本年(度)?|(件数|数量|件)$", "", x) for x in col.labels}
            verbs |= {w for v in verbs for w in _PROSE_VERBS.get(v, ())}
            verbs = "|".join(sorted({re.escape(v) for v in verbs if len(v) >= 2}, key=len, reverse=True))
            if not verbs:
                continue
            rx = re.compile(rf"(?:{verbs})[^。；;，,:：\d]{{0,12}}?(?:{nouns})[^。；;，,:：\d]{{0,4}}?(\d+)件")
            for m in rx.finditer(self.c.text):
                before = self.c.text[max(0, m.start() - 8):m.start()]
                if re.search(r"(上年|去年|上一年|累计|历年|全市|全省|全区|全县)", before):
                    continue          # other years and scopes are not this row
                out.setdefault(i, set()).add(int(m.group(1)))
        return out

    # -- table 3 -------------------------------------------------------------------------
    def t3_header(self, start: int, first_row_start: int):
        """(row width, column indices) from the column header lines before the first row."""
        t3 = self.tpl.tables["t3"]
        o_a, o_b = self.c.orig(start), self.c.orig(first_row_start)
        seg = self.text[o_a:o_b]
        lines = [ln for ln in seg.split("\n") if "\t" in ln]
        if not lines:
            return None
        width = max(len(ln.split("\t")) for ln in lines)
        found: dict[str, int] = {}
        norm = [[codebook.normalise_label(c, convert=False) for c in ln.split("\t")] for ln in lines]
        for col in t3.columns:
            for row in norm:
                if len(row) != width:
                    continue
                for i, cell in enumerate(row):
                    if cell in col.labels and i not in found.values():
                        found.setdefault(col.id, i)
                        break
                if col.id in found:
                    break
        if len(found) != len(t3.columns):
            return None
        idx = [found[c.id] for c in t3.columns]
        if len(set(idx)) != len(idx) or idx != sorted(idx):
            return None
        return width, idx

    def parse_t3(self, start: int, limit: int) -> tuple[dict, int, int, int]:
        t3 = self.tpl.tables["t3"]
        anchors = self.find_rows(t3.rows, start, limit)
        if len(anchors) < max(3, len(t3.rows) // 2):
            return {}, -1, -1, len(anchors)
        anchors, collapsed = self._collapsed_groups(t3, anchors, limit)
        self._note_missing_rows("table 3", [r for r in t3.rows if r.id not in collapsed], anchors)
        header = self.t3_header(max(start, anchors[0].start - 3000), anchors[0].start)
        cols = [c.id for c in t3.columns]
        n = len(cols)
        exact: dict[str, list[int]] = {}
        blobs: dict[str, list[list[int]]] = {}
        spaced: dict[str, list[list[int]]] = {}     # fewer numbers printed than cells
        runs_together = False                       # the table prints cells without separators
        for i, a in enumerate(anchors):
            nxt = anchors[i + 1].start if i + 1 < len(anchors) else self._t3_tail_limit(a.end, limit)
            rr = self.read_after(a, nxt, n, header_cols=header)
            if rr.cells is not None:
                vals = [self.value(f"t3.{a.row_id}.{c}", cell) for c, cell in zip(cols, rr.cells)]
                if all(v is not None for v in vals):
                    exact[a.row_id] = vals
                    self._mark([f"t3.{a.row_id}.{c}" for c in cols], rr.kind, rr)
                    continue
            if rr.blob is not None:
                every = split_blob(rr.blob, n)
                # digits that split only one way (one digit per cell, or no other cut without a
                # leading zero) are kept as printed even if they do not add up: a source's error
                # is data; otherwise the row total must hold
                if _splits_spaced_numbers(rr.blob, n):
                    spaced[a.row_id] = [c for c in every if sum(c[:-1]) == c[-1]]
                    continue
                runs_together |= len(rr.blob.split()) == 1 or any(
                    len(t) > 1 and t.startswith("0") for t in rr.blob.split())
                cands = every if len(every) == 1 else [c for c in every if sum(c[:-1]) == c[-1]]
                blobs[a.row_id] = cands
                continue
            if rr.short is not None:
                vals = self._one_lost(a.row_id, rr.short, cols)
                if vals is not None:
                    exact[a.row_id] = vals
                    self._mark([f"t3.{a.row_id}.{c}" for c in cols], "inferred",
                               note="one blank cell was lost; restored as 0 where the row total holds")
                    continue
            self.problems.append(Problem("cell_unreadable", f"table 3 row {a.row_id}: values not readable ({rr.how})"))
        for rid, cands in spaced.items():
            if runs_together:
                # the table runs cells together elsewhere (0000000, 000023): its spaces are not cell
                # boundaries (230 000023), so the identities may choose the cut
                blobs[rid] = cands
            else:
                # numbers printed apart, fewer than cells: blank cells were lost (860 72 932);
                # any cut splits a printed number, even one the row total accepts
                self.problems.append(Problem("cell_unreadable", f"table 3 row {rid}: fewer numbers printed than "
                                             f"{n} cells (blank cells lost); left unread"))
        if self.doc.ocr:
            # OCR misreads digits; a row that does not add up is more likely misread than
            # misprinted, so it is left out rather than reported as the source's error.
            for rid in list(exact):
                v = exact[rid]
                if abs(sum(v[:-1]) - v[-1]) > 1e-6:
                    del exact[rid]
                    self.problems.append(Problem("ocr_doubtful",
                                                 f"table 3 row {rid}: OCR values do not add up; left unread"))
        resolved = self._resolve_t3_blobs(exact, blobs)
        for rid, cands in blobs.items():
            ids = [f"t3.{rid}.{c}" for c in cols]
            if rid not in resolved:
                self.problems.append(Problem("cell_unreadable", f"table 3 row {rid}: digits run together; left unread"))
            elif len(cands) == 1:
                self._mark(ids, "split", note="digits run together; the only split (where the row total holds)")
            else:
                self._mark(ids, "split", note="digits run together; the one split the table's sums allow")
        cells = {}
        for row in [*t3.rows, *(r for r, _ in codebook.collapsed_rows(self.tid))]:
            if row.id in resolved:
                for c, v in zip(cols, resolved[row.id]):
                    cells[f"t3.{row.id}.{c}"] = v
        return cells, anchors[0].start, anchors[-1].end, len(anchors)

    def _collapsed_groups(self, t3, anchors: list[_Anchor], limit: int) -> tuple[list[_Anchor], set[str]]:
        """A group none of whose sub-rows is printed, printed instead as one row with its own values
        (2021 tables with 2019's single （六）其他处理): that row, under its own id, between the rows
        around the group. Returns the anchors and the sub-row ids it stands for."""
        order = {r.id: k for k, r in enumerate(t3.rows)}
        found = {a.row_id for a in anchors}
        covered: set[str] = set()
        for row, subs in codebook.collapsed_rows(self.tid):
            if found & set(subs):
                continue
            first, last = order[subs[0]], order[subs[-1]]
            before = [a for a in anchors if order.get(a.row_id, -1) < first]
            after = [a for a in anchors if order.get(a.row_id, -1) > last]
            lo = before[-1].end if before else 0
            hi = after[0].start if after else limit
            got = self.find_rows([row], lo, hi)
            if got:
                # one row of values up to the next row, not the values of sub-rows whose labels were lost
                o_a, o_b = self.c.orig_end(got[0].end), self.c.orig(hi) if hi < len(self.c.text) else len(self.text)
                region = self.text[o_a:o_b]
                first, _, rest = region.partition("\n")
                if len(re.findall(r"\d+(?:\.\d+)?", region)) > len(t3.columns) or (
                        "\t" in first and re.search(r"\d", rest)):
                    continue    # values on the lines below a grid row: its sub-rows' labels were lost
            if got:
                pos = len(before)
                anchors = [*anchors[:pos], got[0], *anchors[pos:]]
                order[row.id] = first
                covered |= set(subs)
                self.problems.append(Problem("rows_collapsed", f"table 3: {row.label} printed as one row "
                                             f"(as in the {', '.join(t for t in codebook.TEMPLATES if t != self.tid)} "
                                             f"template), read as t3.{row.id}; its sub-rows are not printed"))
        return anchors, covered

    def _one_lost(self, row_id: str, short: list[str], cols: list[str]):
        """One cell of the row was lost (a blank dropped by the extractor, OCR): put back a 0
        wherever the row total still adds up; keep the row only if every place gives one answer."""
        vals = [numbers.read_value(c) for c in short]
        if any(v is None for v in vals):
            return None
        readings = set()
        for i in range(len(vals) + 1):
            trial = vals[:i] + [0] + vals[i:]
            if abs(sum(trial[:-1]) - trial[-1]) < 1e-9:
                readings.add(tuple(trial))
        if len(readings) == 1:
            self.problems.append(Problem("cell_restored",
                                         f"table 3 row {row_id}: one blank cell was lost; restored as 0 by the row total"))
            return list(readings.pop())
        return None

    def _t3_tail_limit(self, pos: int, limit: int) -> int:
        rx = _label_regex(tuple(codebook.normalise_label(l) for l in self._section_labels("4")))
        m = rx.search(self.c.text, pos, limit)
        if m:
            return m.start()
        m = self._t4_block_regex().search(self.c.text, pos, limit)
        return m.start() if m else limit

    def _t4_block_regex(self) -> re.Pattern:
        t4 = self.tpl.tables["t4"]
        return _label_regex(tuple(codebook.normalise_label(x) for b in t4.blocks
                                  for x in (b.caption, *b.caption_variants)))

    def _t4_header_regex(self) -> re.Pattern:
        """Any column or block label of table 4 (the values follow the last one)."""
        t4 = self.tpl.tables["t4"]
        labels = {l for c in t4.columns for l in c.labels}
        labels |= {codebook.normalise_label(x) for b in t4.blocks for x in (b.caption, *b.caption_variants)}
        return re.compile("|".join(re.escape(l) for l in sorted(labels, key=len, reverse=True)))

    def _t4_vertical_regex(self) -> re.Pattern:
        """The first column label printed one character per line (结 / 果 / 维 / 持)."""
        first = codebook.normalise_label(self.tpl.tables["t4"].columns[0].label)
        return re.compile(".{0,30}".join(re.escape(ch) for ch in first))

    def _section_labels(self, key: str) -> tuple[str, ...]:
        sec = codebook.sections()[key]
        labels = (sec["label"], *(sec.get("variants") or ()))
        return labels + tuple(v for l in labels for v in codebook.vocabulary_variants(l))

    def _resolve_t3_blobs(self, exact: dict, blobs: dict) -> dict:
        if not blobs:
            return exact
        resolved = dict(exact)
        ambiguous = {}
        for rid, cands in blobs.items():
            if len(cands) == 1:
                resolved[rid] = cands[0]
            elif cands:
                ambiguous[rid] = cands
            else:
                self.problems.append(Problem("cells_run_together",
                                             f"table 3 row {rid}: no split of the run-together digits adds up"))
        if not ambiguous:
            return resolved
        t3 = self.tpl.tables["t3"]
        cols = [c.id for c in t3.columns]
        ids = [i for i in codebook.identities(self.tid) if i.table == "t3" and ".row_total." not in i.check_id]
        rows_needed = set(resolved) | set(ambiguous)

        def usable(identity):
            return all(cid.split(".")[1] in rows_needed for cid in identity.lhs + identity.rhs)

        ids = [i for i in ids if usable(i)]
        keys = list(ambiguous)
        total = 1
        for k in keys:
            total *= len(ambiguous[k])
        if total > 200000:
            for k in keys:
                self.problems.append(Problem("cells_run_together", f"table 3 row {k}: too many readings; left unread"))
            return resolved
        solutions = []
        for combo in itertools.product(*(ambiguous[k] for k in keys)):
            trial = dict(resolved)
            trial.update(zip(keys, combo))
            flat = {f"t3.{r}.{c}": v for r, vals in trial.items() for c, v in zip(cols, vals)}
            if all(checks.identity_holds(i, flat) for i in ids):
                solutions.append(combo)
                if len(solutions) > 50:
                    break
        if len(solutions) > 50:
            # stopped early: a row alike in the first 51 solutions may differ in the others
            for k in keys:
                self.problems.append(Problem("cells_run_together", f"table 3 row {k}: too many readings; left unread"))
            return resolved
        for j, k in enumerate(keys):
            readings = {tuple(s[j]) for s in solutions}
            if len(readings) == 1:
                resolved[k] = list(readings.pop())
            else:
                self.problems.append(Problem("cells_run_together",
                                             f"table 3 row {k}: {len(readings)} readings fit the identities; left unread"))
        return resolved

    # -- table 4 -------------------------------------------------------------------------
    def parse_t4(self, start: int, limit: int) -> dict:
        ctext = self.c.text
        t4 = self.tpl.tables["t4"]
        col_rx = _label_regex(tuple(l for c in t4.columns for l in c.labels))
        block_rx = self._t4_block_regex()
        m = block_rx.search(ctext, start, limit)
        if not m:
            return {}
        # the table ends at the next section heading
        end_rx = _label_regex(tuple(codebook.normalise_label(l) for l in self._section_labels("5")))
        e = end_rx.search(ctext, m.end(), limit)
        region_end = e.start() if e else min(limit, m.end() + 3000)
        if not col_rx.search(ctext, m.start(), region_end):
            # vertical per-character headers: 结 结 其 尚 / 果 果 他 未 ...
            if not self._t4_vertical_regex().search(ctext, m.start(), region_end):
                return {}
        n = len(t4.cells)
        o_a, o_b = self.c.orig(m.start()), self.c.orig(region_end) if region_end < len(ctext) else len(self.text)
        seg = self.text[o_a:o_b]
        if "\n" in seg and not seg[seg.rfind("\n"):].strip():
            seg = seg[:seg.rfind("\n")]         # the indentation of the next heading's line
        self._t4_read = RowRead(kind="text_line")
        cells = self._t4_cells(seg, n, o_a)
        if cells is None:
            return {}
        if self.doc.ocr and not self._t4_ok(cells):
            self.problems.append(Problem("ocr_doubtful", "table 4: OCR values do not add up; left unread"))
            return {}
        rr = self._t4_read
        self._mark(t4.cells, rr.kind, rr, note=rr.how or None)
        return dict(zip(t4.cells, cells))

    def _t4_ok(self, vals) -> bool:
        """The block totals hold (used to choose among readings, never to change a value)."""
        flat = dict(zip(self.tpl.tables["t4"].cells, vals))
        return all(checks.identity_holds(i, flat) for i in codebook.identities(self.tid) if i.table == "t4")

    @staticmethod
    def _t4_by_header(cells: list[str], above: list[str], n: int) -> list[str] | None:
        """A values row wider than the table, read by the column header line of the same width just
        above it: a column the header repeats (总计 | 总计, a merged cell over two grid columns) with
        the same value under both is one column; surplus blanks at the ends count only where the
        header has no label either. Without such a header, the cells as they are (None: unread)."""
        header = next((h.split("\t") for h in reversed(above) if "\t" in h
                       and not all(_is_value_cell(c) for c in h.split("\t"))), None)
        if header is None or len(header) != len(cells):
            return cells
        keep = [j for j in range(len(cells)) if not (
            j > 0 and header[j].strip() and header[j].strip() == header[j - 1].strip()
            and cells[j].strip() == cells[j - 1].strip())]
        if len(keep) < n:
            return None
        cells, header = [cells[j] for j in keep], [header[j] for j in keep]
        while len(cells) > n and not cells[-1].strip() and not header[-1].strip():
            cells, header = cells[:-1], header[:-1]
        while len(cells) > n and not cells[0].strip() and not header[0].strip():
            cells, header = cells[1:], header[1:]
        return cells if len(cells) == n else None

    def _t4_cells(self, seg: str, n: int, seg_start: int = 0):
        """The n values of table 4 in `seg` (which starts at `seg_start` of the text); how they
        were read is left in self._t4_read."""
        lines = seg.split("\n")
        all_blank = None
        first_line = self.line_number(seg_start)
        whole_first = seg_start == 0 or self.text[seg_start - 1] == "\n"
        # 1. a tab-separated line of values (blank cells keep their places)
        for k, ln in enumerate(lines):
            if "\t" not in ln:
                continue
            cells = ln.split("\t")
            if not all(_is_value_cell(c) for c in cells) or len(cells) < n:
                continue
            if not any(c.strip() for c in cells):
                all_blank = all_blank or cells        # a template left empty: zeros, if nothing else
                continue
            wider = len(cells) > n
            if wider:
                cells = self._t4_by_header(cells, lines[:k], n)
                if cells is None:
                    continue
            rr = _resolve_cells(cells, n)
            if rr.cells is not None:
                vals = [numbers.read_value(c) for c in rr.cells]
                if all(v is not None for v in vals):
                    if wider and len(cells) > n and not self._t4_ok(vals):
                        # cells dropped without a header saying which: only a reading that adds up
                        self.problems.append(Problem("cell_unreadable", f"table 4: {len(cells)} cells for {n}, "
                                                     "no header says which are surplus; left unread"))
                        continue
                    rr.kind = "table_cell"
                    if rr.pos is not None and not wider and (k > 0 or whole_first):
                        rr.where = [None if p is None else (first_line + k, p) for p in rr.pos]
                    rr.how = ""
                    self._t4_read = rr
                    return vals
        # 1b. a text line with the n values separated by spaces ("0 0 0 … 0"), as PDF text
        # layers and flattened web tables print them (a surplus trailing cell as in 1.)
        for ln in lines:
            parts = ln.split()
            if len(parts) >= n and "\t" not in ln.strip() and all(_is_value_cell(p) for p in parts):
                rr = _resolve_cells(parts, n)
                vals = [numbers.read_value(c) for c in rr.cells] if rr.cells is not None else [None]
                if all(v is not None for v in vals):
                    return vals
        # 2. one value per line, or the values of each block after its own label
        tokens: list[tuple[bool, str]] = []
        single: list[bool] = []      # the token's line holds value cells only (no label beside it)
        for ln in lines:
            if ln == "":
                continue
            parts = ln.split("\t")
            if len(parts) == 2 and parts[0] == "":
                parts = parts[1:]
            for p in parts:
                tokens.append((_is_value_cell(p), p))
                single.append(all(_is_value_cell(q) for q in parts))
        run: list[str] = []
        best = None
        for is_val, p in tokens:
            if is_val:
                run.append(p)
            else:
                if sum(1 for x in run if x.strip()) >= n:
                    best = run
                    break
                run = []
        if best is None and sum(1 for x in run if x.strip()) >= n:
            best = run
        if best is None:
            # one cell per line with blank cells: a run of exactly n cells, blanks in place. Only
            # lines of values count: a header's trailing blank cell beside a grid row short of a
            # cell (a column lost at the page edge) is not fifteen cells in their places
            run = []
            for (is_val, p), alone in zip(tokens + [(False, "")], single + [True]):
                if is_val and alone:
                    run.append(p)
                    continue
                if len(run) == n and any(x.strip() for x in run):
                    vals = [numbers.read_value(c) for c in run]
                    if all(v is not None for v in vals):
                        return vals
                run = []
        if best is None:
            # one row per block (行政复议 1 0 0 0 1 / ...): the values spread over the lines after
            # the first column header, and nowhere else, add up to the fifteen cells
            labels = set(l for c in self.tpl.tables["t4"].columns for l in c.labels)
            first = next((k for k, (is_val, p) in enumerate(tokens)
                          if not is_val and codebook.normalise_label(p, convert=False) in labels), None)
            if first is not None:
                spread = [p for is_val, p in tokens[first:] if is_val and p.strip()]
                if len(spread) == n:
                    best = spread
        if best is not None:
            nb = [x for x in best if x.strip()]
            vals = [numbers.read_value(c) for c in nb[:n]]
            if all(v is not None for v in vals):
                return vals
        if all_blank is not None:
            self._t4_read = RowRead(kind="table_cell", how="every cell of the table left blank (0)")
            return [0] * n
        # 3. digits run together after the last header word
        c = Compact(seg)
        ends = [mm.end() for mm in self._t4_header_regex().finditer(c.text)]
        if not ends:
            return None
        tail = seg[c.orig_end(ends[-1]):]
        tail = unicodedata.normalize("NFKC", tail)
        mm = re.match(r"[\s\d]+", tail)
        if not mm or not re.search(r"\d", mm.group(0)):
            return None
        blob = mm.group(0).strip()
        every = split_blob(blob, n)
        # a single possible split (one digit per cell…) is kept as printed even if a total is off
        if _splits_spaced_numbers(blob, n):
            self.problems.append(Problem("cell_unreadable", f"table 4: {len(blob.split())} numbers printed for "
                                         f"{n} cells (blank cells lost); left unread"))
            return None
        cands = every if len(every) == 1 else [cd for cd in every if self._t4_ok(cd)]
        if len(cands) == 1:
            self._t4_read = RowRead(kind="split", how="digits run together; the only split" + (
                "" if len(every) == 1 else " the block totals allow"))
            return cands[0]
        self.problems.append(Problem("cells_run_together",
                                     f"table 4: '{blob}' has {len(cands)} readings that fit the block totals; left unread"))
        self.problems.append(Problem("cell_unreadable", "table 4: digits run together; left unread"))
        return None

    # -- all ------------------------------------------------------------------------------
    def run(self) -> TablesFound:
        ctext = self.c.text
        limit = len(ctext)
        found = TablesFound(template=self.tid)
        t3_cells, t3_start, t3_end, n_rows = self.parse_t3(0, limit)
        t2_limit = t3_start if t3_start >= 0 else limit
        t2_cells, t2_start, t2_end = self.parse_t2(0, t2_limit)
        t4_from = t3_end if t3_end >= 0 else (t2_end if t2_end >= 0 else 0)
        t4_cells = self.parse_t4(t4_from, limit)
        for tid, cells in (("t2", t2_cells), ("t3", t3_cells), ("t4", t4_cells)):
            if cells:
                found.tables[tid] = True
                found.cells.update(cells)
        if not found.cells:
            # header words in prose are no evidence of a template grid
            found.template = None
        found.problems = self.problems
        found.t3_rows_found = n_rows
        # only cells that were kept (OCR rows that do not add up are dropped after reading)
        found.provenance = {cid: self.prov.get(cid, {"how": "text_line"}) for cid in sorted(found.cells)}
        return found


def parse_tables(doc: Extracted) -> TablesFound:
    """Template, tables present and cells of one extracted document."""
    text = doc.text or ""
    if not text.strip():
        return TablesFound()
    compact = Compact(text)
    ctext = compact.text
    template = detect_template(ctext)
    if template is None:
        # No header cue: try both grids; keep one only if it finds table 3 rows and the
        # two templates disagree on nothing that matters (the （六） rows decide).
        results = [_Parser(doc, t, compact).run() for t in codebook.TEMPLATES]
        with_cells = [r for r in results if r.cells]
        if not with_cells:
            out = TablesFound()
            if doc.images_only_tables:
                out.problems.append(Problem("tables_as_images", "the tables are only images; not read"))
            return out
        best = max(with_cells, key=lambda r: (r.t3_rows_found, len(r.cells)))
        best.problems.append(Problem("template_guessed",
                                     "no template header cue; template chosen from the table-3 rows"))
        return best
    result = _Parser(doc, template, compact).run()
    if doc.images_only_tables and not any(result.tables.values()):
        result.problems.append(Problem("tables_as_images", "the tables are only images; not read"))
    return result
