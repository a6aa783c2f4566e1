"""Text normalisation shared by every format: one canonical form of a report's characters.

Removes the pinyin glosses that mirror sites insert (數(shù)據(jù) -> 數據), converts traditional to
simplified script with OpenCC, folds full-width ASCII to half-width (NFKC), drops zero-width
characters, collapses whitespace inside table cells while keeping TAB as the cell separator, and
turns long runs of '|' left by flattened layout tables into line breaks.

It must never change wording (其它 stays 其它: label matching unifies that, not the text), never
touch digits beyond NFKC width folding, and never do I/O beyond loading OpenCC's own tables.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# A gloss is a Latin syllable carrying at least one tone mark (or ü), in brackets right after a
# CJK character. Requiring a tone mark keeps ordinary bracketed ASCII (e.g. "(PDF)") intact.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"
_GLOSS = re.compile(
    r"(?<=[\u3400-\u9fff\uf900-\ufaff?？])[(（]\s*"
    rf"(?=[a-z{_TONED}]*[{_TONED}])[a-z{_TONED}]{{1,7}}\s*[)）]"
)
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_PIPES = re.compile(r"\|{3,}")    # spaces around it go with each line's strip (no scan over long blank runs)
_SPACES = re.compile(r"[^\S\t\n]+")          # whitespace except TAB and newline
_CJK = re.compile(r"[\u4e00-\u9fff]")


def strip_pinyin_glosses(text: str) -> str:
    """數(shù)據(jù) -> 數據: drop a bracketed toned syllable that follows a CJK character."""
    return _GLOSS.sub("", text)


@lru_cache(maxsize=2)
def _converter(config: str):
    import opencc
    try:
        return opencc.OpenCC(config)
    except Exception:  # some builds want the .json suffix
        return opencc.OpenCC(config + ".json")


def to_simplified(text: str) -> str:
    """Traditional -> simplified, character and common-phrase level (OpenCC t2s)."""
    return _converter("t2s").convert(text)


_SAMPLE = 6000


def traditional_share(text: str, sample: int = _SAMPLE, converted: str | None = None) -> float:
    """Share of CJK characters that OpenCC changes when converting to simplified.

    Simplified text scores near 0 (a few characters such as 于/於 are ambiguous); a traditional
    mirror scores well above 0.1 because most frequent characters (國, 會, 為, 與...) change.
    `converted`: the text already converted, when the caller has it (saves a second pass).
    """
    chunk = text[:sample]
    conv = (converted if converted is not None else to_simplified(chunk))[:sample]
    total = len(_CJK.findall(chunk))
    if not total:
        return 0.0
    if chunk == conv:
        return 0.0
    changed = sum(1 for a, b in zip(chunk, conv) if a != b and _CJK.match(a))
    return changed / total


def is_traditional(text: str) -> bool:
    return traditional_share(text) > 0.05


def simplified_cells(cells: list[str]) -> list[str]:
    """to_simplified over many table cells in one OpenCC call (a call per cell costs more than
    the conversion); falls back to one call per cell if a cell holds the separator."""
    sep = "\x1f"
    if not cells:
        return []
    if any(sep in c for c in cells):
        return [to_simplified(c) for c in cells]
    out = to_simplified(sep.join(cells)).split(sep)
    return out if len(out) == len(cells) else [to_simplified(c) for c in cells]


def normalise_cell(cell: str) -> str:
    """A table cell: NFKC, no zero-width characters, all inner whitespace collapsed to one space."""
    cell = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", cell or ""))
    return " ".join(cell.split())


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _PIPES.sub("\n", text)
    lines = []
    for line in text.split("\n"):
        if "\t" in line:
            # a table row: collapse inside each cell, keep empty cells so positions survive
            lines.append("\t".join(" ".join(c.split()) for c in line.split("\t")))
        else:
            lines.append(_SPACES.sub(" ", line).strip())
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip("\n")


def normalise_text(text: str) -> str:
    """The whole pipeline for a text already in simplified or traditional script."""
    return _fold(to_simplified(strip_pinyin_glosses(text or "")))


def normalise_document(text: str) -> tuple[str, str]:
    """Normalise `text` and report the source script ("traditional" or "simplified")."""
    text = strip_pinyin_glosses(text or "")
    converted = to_simplified(text)
    script = "traditional" if traditional_share(text, converted=converted) > 0.05 else "simplified"
    return _fold(converted), script
