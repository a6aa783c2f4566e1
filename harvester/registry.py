"""The portal registry: which columns to crawl. CSV (header row) or YAML (a list of mappings, or a
mapping whose `portals` key holds the list). Only `name` and `start_url` are required; every other
field is optional and passed through to the spider as a per-portal override."""
from __future__ import annotations

import csv
from pathlib import Path

import yaml

# Optional per-portal fields the spider understands; anything else is kept as information.
KNOWN_FIELDS = {"obey_robots": bool, "render": bool, "max_list_pages": int, "max_depth": int,
                "allowed_hosts": list, "download_delay": float,
                "cadence": str}            # daily | weekly | monthly | days (harvester.schedule)


class RegistryError(ValueError):
    pass


def _cadence(value) -> str:
    """daily | weekly | monthly | a positive number of days; anything else is the registry's error."""
    text = str(value).strip().lower()
    if text in ("daily", "weekly", "monthly"):
        return text
    try:
        days = float(text)
    except ValueError:
        days = float("nan")
    if not (days > 0 and days < 3660):     # also refuses nan and inf
        raise RegistryError(f"cadence {value!r}: expected daily, weekly, monthly or a number of days")
    return text


def _coerce(name: str, value):
    kind = KNOWN_FIELDS.get(name)
    if kind is None or value is None or value == "":
        return value
    if name == "cadence":
        return _cadence(value)
    if kind is bool and isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y"}
    if kind is list and isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    return kind(value)


def load_portals(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        raise RegistryError(f"portal registry not found: {path}")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
    else:
        data = yaml.safe_load(text)
        rows = data.get("portals") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise RegistryError(f"{path}: expected a list of portals or a mapping with `portals`")
    portals, seen = [], set()
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not row.get("name") or not row.get("start_url"):
            raise RegistryError(f"{path}: portal #{i} needs `name` and `start_url`: {row!r}")
        row = {k: _coerce(k, v) for k, v in row.items() if k is not None}
        if row["name"] in seen:
            raise RegistryError(f"{path}: duplicate portal name {row['name']!r}")
        seen.add(row["name"])
        portals.append(row)
    return portals
