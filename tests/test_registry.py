"""The registry: CSV or YAML, `name` and `start_url` required, everything else optional."""
import pytest

from harvester.registry import RegistryError, load_portals


def test_csv_and_yaml_forms(tmp_path):
    csv_file = tmp_path / "p.csv"
    csv_file.write_text("name,start_url,obey_robots\na,http://h/a/,false\nb,http://h/b/,\n", encoding="utf-8")
    rows = load_portals(csv_file)
    assert [r["name"] for r in rows] == ["a", "b"]
    assert rows[0]["obey_robots"] is False
    listed = tmp_path / "l.yaml"
    listed.write_text("- {name: a, start_url: 'http://h/a/'}\n", encoding="utf-8")
    mapped = tmp_path / "m.yaml"
    mapped.write_text("portals:\n  - {name: a, start_url: 'http://h/a/', agency: 某局}\n", encoding="utf-8")
    assert load_portals(listed)[0]["start_url"] == "http://h/a/"
    assert load_portals(mapped)[0]["agency"] == "某局"


def test_missing_fields_and_duplicates_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {name: a}\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="start_url"):
        load_portals(bad)
    dup = tmp_path / "dup.csv"
    dup.write_text("name,start_url\na,http://h/\na,http://h/2\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="duplicate"):
        load_portals(dup)
    with pytest.raises(RegistryError, match="not found"):
        load_portals(tmp_path / "nope.yaml")
