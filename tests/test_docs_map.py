"""docs/MAP.md names every folder and top-level module of `app/`, and nothing that is gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tree_block() -> str:
    text = (ROOT / "docs" / "MAP.md").read_text()
    return text.split("```", 2)[1]


def test_map_names_every_part_of_app() -> None:
    block = _tree_block()
    named = set(re.findall(r"\b([a-z_]+(?:/|\.py))", block))
    present = {p.name + "/" for p in (ROOT / "app").iterdir() if p.is_dir() and p.name[0] != "_"}
    present |= {p.name for p in (ROOT / "app").glob("*.py") if p.name != "__init__.py"}
    assert present - named == set(), "add to docs/MAP.md"
    gone = {n for n in named if n.endswith(".py")} - present
    gone |= {n for n in named if n.endswith("/") and n not in present} - {
        "app/",
        "ingest/",
        "detectors/",
        "evidence/",
    }
    assert gone == set(), "remove from docs/MAP.md"


def test_map_paths_exist() -> None:
    text = (ROOT / "docs" / "MAP.md").read_text()
    paths = set(re.findall(r"`((?:app|ingest|detectors|evidence|tests)/[\w/]+\.py)", text))
    assert paths, "the map names no file"
    missing = [p for p in sorted(paths) if not (ROOT / p).is_file()]
    assert missing == []
