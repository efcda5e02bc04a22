"""Citations point inside the repository: at ``docs/<name>.md`` and at sections that exist there.

The contract documents the backend was first written against are not part of this repository, so code,
READMEs and build files must not send a reader to them (by file name or by their numbered sections).
Every ``docs/<name>.md`` that a tracked file cites must exist, and a citation naming a section
(``docs/storage.md, Outbox`` or ``docs/storage.md (Outbox)``) must name one of that file's headings.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# Spelled in pieces so that this file does not cite them itself.
EXTERNAL_NAMES = tuple(
    name + ".md" for name in ("http-api", "ingestion-storage-ops", "wire-and-clients", "DESIGN")
)
EXTERNAL_PATTERN = re.compile("|".join([*map(re.escape, EXTERNAL_NAMES), r"DESIGN \u00a7", "\u00a7"]))
CITATION = re.compile(r"docs/([A-Za-z0-9_-]+)\.md`?(?:, |\s\()?")
# A citation wrapped over lines: the line break, its indentation and a comment marker read as one space.
LINE_BREAK = re.compile(r"\s*\n\s*(?:#\s*)?")
TEXT_SUFFIXES = frozenset({".py", ".md", ".toml", ".yaml", ".yml", ".sh", ".tpl", ".txt", ".cfg", ".ini", ""})


@cache
def tracked_files() -> tuple[Path, ...]:
    """Every text file git tracks in the repository (the lock file excluded: it cites nothing)."""
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    paths = [ROOT / name for name in out.split("\0") if name]
    return tuple(p for p in paths if p.is_file() and p.suffix in TEXT_SUFFIXES and p.name != "uv.lock")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


@cache
def headings(doc: str) -> tuple[str, ...]:
    """The heading texts of ``docs/<doc>.md`` (without the ``#`` marks)."""
    text = read(DOCS / f"{doc}.md")
    return tuple(line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#"))


def citations(text: str) -> list[tuple[str, str]]:
    """``(doc name, text following the citation)`` for every ``docs/<name>.md`` in ``text``.

    The following text is empty when the citation names no section (nothing but ``, `` or `` (`` after it).
    """
    flat = LINE_BREAK.sub(" ", text)
    found = []
    for match in CITATION.finditer(flat):
        names_section = match.group(0).endswith((", ", " ("))
        found.append((match.group(1), flat[match.end() : match.end() + 120] if names_section else ""))
    return found


def test_tracked_files_are_found() -> None:
    files = {p.relative_to(ROOT).as_posix() for p in tracked_files()}
    assert {"README.md", "Makefile", "docs/storage.md", "tests-integration/test_docs_citations.py"} <= files


def test_nothing_outside_docs_cites_the_external_contract_files() -> None:
    offenders = []
    for path in tracked_files():
        if path.is_relative_to(DOCS):
            continue
        for number, line in enumerate(read(path).splitlines(), start=1):
            if EXTERNAL_PATTERN.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "cite docs/<file>.md instead:\n" + "\n".join(offenders)


def test_every_cited_doc_and_section_exists() -> None:
    problems = []
    cited: set[str] = set()
    for path in tracked_files():
        for doc, following in citations(read(path)):
            cited.add(doc)
            where = path.relative_to(ROOT)
            if not (DOCS / f"{doc}.md").is_file():
                problems.append(f"{where}: docs/{doc}.md does not exist")
            elif following and not any(following.startswith(h) for h in headings(doc)):
                problems.append(f"{where}: docs/{doc}.md has no section starting {following[:40]!r}")
    assert problems == [], "\n".join(problems)
    # The five documents are cited from the code and the READMEs, not only listed.
    assert {"architecture", "storage", "http-contract", "configuration", "runbook"} <= cited


def test_citation_parsing() -> None:
    d = "docs" + "/"  # kept apart so that these examples are not citations of this file
    text = f"see ({d}http-contract.md, Quirk\n    # decisions) and `{d}storage.md` (Outbox); {d}runbook.md."
    assert citations(text) == [
        ("http-contract", f"Quirk decisions) and `{d}storage.md` (Outbox); {d}runbook.md."),
        ("storage", f"Outbox); {d}runbook.md."),
        ("runbook", ""),
    ]
    assert EXTERNAL_PATTERN.search("spec " + "\u00a7" + "3.2") is not None
    assert EXTERNAL_PATTERN.search(f"{d}http-contract.md, Routes") is None
