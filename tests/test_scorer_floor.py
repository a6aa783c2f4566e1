"""The gold scorer over the shared corpus, with floors that only ever rise.

Runs `../shared/eval/score.py` on `../shared/corpus` through the real `ogi parse --json` and
asserts floors set to what the parser measurably reaches, minus a hair. When a change raises a
figure, raise its floor here; never lower one to let a change through.
Skips (with the reason) when ../shared is absent, so the repository still stands alone.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SCORER = SHARED / "eval" / "score.py"
CORPUS = SHARED / "corpus"
OGI = Path(sys.executable).with_name("ogi")

# Measured 2026-11-23 (session 2): cells F1 1.000 (P 1.000, R 0.999), 11/12 documents exact,
# meta 1.000, table presence 84/84, identity failures P 1.000 / R 1.000. What is missing: one
# table-2 procurement row of an archived page text whose count and amount run together
# (135|75394432.52元? 1357|5394432.52元?), left unread on purpose.
# Re-measured 2026-12-07 on the grown corpus (34 documents: a WPS-export city PDF and its image-only
# scan, the Shanghai 2019 report as DOCX and PDF, two more 平潭 reports), after the two-engine OCR
# (parsers/ocr.py) and the blank-row fix: cells F1 0.9978 (P 3572/3572, R 3572/3588), 16/18
# documents exact, tables 102/102, identity failures P 1.000 / R 1.000. What is missing: 16
# run-together 平潭 table-2 cells that no reading can split safely (left unread with the reason).
# F1 and the exact share sit below the 28-document floors above only because the corpus grew;
# issue 12 asked for them to be re-set to what was measured on it. Floors only rise from here.
# 2026-12-08: notes on how a value was read (a misprinted label, the one plausible split of run-together
# digits) moved from `errors` to `reading_notes`: 32 of 34 documents parse without error (was 28); the
# two left have cells genuinely left unread.
FLOORS = {
    "docs_ok_share": 0.94,
    "cells_f1": 0.9975,
    "cells_precision": 1.0,
    "docs_exact_share": 0.888,
    "meta": 0.99,
    "identity_recall": 1.0,
    "identity_precision": 1.0,
    "table_accuracy": 1.0,
    "table_false_positives_max": 0,
}


@pytest.fixture(scope="module")
def score(tmp_path_factory):
    if not SCORER.is_file() or not (CORPUS / "gold").is_dir():
        pytest.skip(f"../shared is absent ({SCORER} / {CORPUS}); the scorer floor needs the shared corpus")
    out = tmp_path_factory.mktemp("score") / "score.json"
    ogi = str(OGI) if OGI.exists() else "ogi"
    proc = subprocess.run([sys.executable, str(SCORER), "--corpus", str(CORPUS),
                           "--cmd", f"{ogi} parse --json", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_cells_floor(score):
    cells = score["cells"]
    assert cells["f1"] >= FLOORS["cells_f1"], cells
    assert cells["precision"] >= FLOORS["cells_precision"], cells
    assert cells["docs_all_gold_cells_exact_share"] >= FLOORS["docs_exact_share"], cells


@pytest.mark.slow
def test_documents_without_error_floor(score):
    assert score["docs_ok_share"] >= FLOORS["docs_ok_share"], score["status"]


@pytest.mark.slow
def test_meta_floor(score):
    assert score["meta"]["accuracy"] >= FLOORS["meta"], score["meta"]


@pytest.mark.slow
def test_identities_and_tables(score):
    assert score["identities"]["recall"] >= FLOORS["identity_recall"], score["identities"]
    assert score["identities"]["precision"] >= FLOORS["identity_precision"], score["identities"]
    assert score["tables"]["accuracy"] >= FLOORS["table_accuracy"], score["tables"]
    assert score["tables"]["false_positives"] <= FLOORS["table_false_positives_max"], score["tables"]
