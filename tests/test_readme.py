"""The README's runnable examples run and show what they say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _example(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    return next(block for block in blocks if marker in block)


def test_derivation_example_prints_what_the_readme_shows() -> None:
    code = _example("# README example: derivations")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    shown = [
        line[2:]
        for line in code.splitlines()
        if line.startswith("#   ") or line.startswith("# 0") or re.match(r"# \d", line)
    ]
    assert [line.split() for line in printed.getvalue().splitlines()] == [line.split() for line in shown]


def test_every_conformance_rule_is_listed_in_the_readme() -> None:
    """A QC reviewer looks a rule id up in the README (the catalog is the source; the README must keep up)."""
    from cdisc168.check.catalog import load_catalog

    text = README.read_text(encoding="utf-8")
    listed = set(re.findall(r"\b(?:SD|AD|DEF|VAL)-[A-Z0-9-]*[A-Z0-9]\b", text))
    assert sorted(r.id for r in load_catalog() if r.id not in listed) == []
