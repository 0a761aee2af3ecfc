"""The code cites only documents in the repository: every ``§N`` in the package, the function
entries and the tests names an existing section of a ``docs/*.md`` file (the nearest
``docs/X.md`` before it on the line, else the first one the file names), and nothing cites
the research notes that live outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADING = re.compile(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s")
REF = re.compile(r"§(\d+(?:\.\d+)*)")
DOC = re.compile(r"docs/([\w.-]+\.md)")
EXTERNAL = re.compile(r"RFC \d+ §")
STALE = re.compile(r"research note|serverless-notes|grok-web-protocol\.md|media contract")


def _sections() -> dict[str, set[str]]:
    return {
        doc.name: {
            m.group(1) for line in doc.read_text().splitlines() if (m := HEADING.match(line))
        }
        for doc in (ROOT / "docs").glob("*.md")
    }


def _sources() -> list[Path]:
    return [
        path
        for folder in ("shared", "functions", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    ]


def test_every_cited_section_exists_and_no_outside_note_is_cited() -> None:
    sections = _sections()
    problems: list[str] = []
    cited = 0
    for path in _sources():
        text = path.read_text(errors="replace")
        default = next(iter(DOC.findall(text)), None)
        for number, line in enumerate(text.splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{number}"
            if STALE.search(line) and path.name != "test_docs_citations.py":
                problems.append(f"{where}: cites a note outside the repository")
            clean = EXTERNAL.sub("", line)
            for match in REF.finditer(clean):
                before = DOC.findall(clean[: match.start()])
                doc = before[-1] if before else default
                cited += 1
                if doc is None or match.group(1) not in sections.get(doc, set()):
                    problems.append(f"{where}: no §{match.group(1)} in docs/{doc}")
    assert cited > 100  # the check looked at the citations
    assert not problems, "\n".join(problems[:20])
