"""Real reports outside the shared corpus: the text path against the same reports' HTML tables.

The archived page texts run table cells together ("693665"); whatever the parser reads from them
must equal what the HTML tables say, and whatever it cannot read must be named in its errors.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from parsers.api import parse_file

ARCHIVE = Path(__file__).parent / "parser_fixtures" / "archive"
EXPECTED = json.loads((ARCHIVE / "expected.json").read_text(encoding="utf-8"))
# cells read today from each text (the HTML has all of them); a floor that only rises
READ_AT_LEAST = {"pingtan-80595.txt": 184, "pingtan-80629.txt": 200, "pingtan-96946.txt": 200}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_text_agrees_with_the_html_tables(name):
    want = EXPECTED[name]
    got = parse_file(ARCHIVE / name)
    assert (got["agency"], got["year"], got["template"]) == (want["agency"], want["year"], want["template"])
    wrong = {k: (v, want["cells"].get(k)) for k, v in got["cells"].items() if want["cells"].get(k) != v}
    assert not wrong, wrong
    assert len(got["cells"]) >= READ_AT_LEAST[name]
    messages = " ".join(e["message"] for e in got["errors"])
    for cid in set(want["cells"]) - set(got["cells"]):
        assert cid.rsplit(".", 1)[0] in messages or cid.split(".")[1] in messages, cid
    assert sorted(got["checks_failed"]) == sorted(want["checks_failed"])   # the sources' own errors
