"""Backup format version 1: the ``manifest.json`` of a backup directory (as in matyan-api-models 0.2.1).

A backup directory holds ``manifest.json`` and ``runs/<run hash>/`` with ``run.json``, ``attrs.json``,
``traces.json`` and ``contexts.json`` per run. This is an on-disk format, not a wire format; backups written
by the reference backend or by matyan-client 0.3.0 read back unchanged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

FORMAT_VERSION: Final = 1
MANIFEST_FILE: Final = "manifest.json"
RUN_FILES: Final = ("run.json", "attrs.json", "traces.json", "contexts.json")
"""The files every ``runs/<run hash>/`` directory must hold."""


def _set_repr(names: Iterable[str]) -> str:
    # Same text as ``str(set_of_names)`` in 0.2.1, but in sorted (deterministic) order.
    return "{" + ", ".join(repr(name) for name in sorted(names)) + "}"


@dataclass
class BackupManifest:
    """Metadata of a backup; :meth:`write` and :meth:`read` use ``<backup dir>/manifest.json``."""

    format_version: int = FORMAT_VERSION
    created_at: str = ""
    run_count: int = 0
    run_hashes: list[str] = field(default_factory=list)
    entity_counts: dict[str, int] = field(default_factory=dict)
    blob_count: int = 0
    blob_bytes: int = 0
    filters: dict[str, Any] = field(default_factory=dict)
    include_blobs: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The manifest's JSON object; an empty ``created_at`` becomes the current UTC time (ISO 8601)."""
        return {
            "format_version": self.format_version,
            "created_at": self.created_at or datetime.now(tz=UTC).isoformat(),
            "run_count": self.run_count,
            "run_hashes": self.run_hashes,
            "entity_counts": self.entity_counts,
            "blob_count": self.blob_count,
            "blob_bytes": self.blob_bytes,
            "filters": self.filters,
            "include_blobs": self.include_blobs,
        }

    def write(self, backup_dir: str | os.PathLike[str]) -> None:
        """Write ``<backup_dir>/manifest.json`` (indented JSON plus a newline); the directory must exist."""
        path = Path(backup_dir) / MANIFEST_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, backup_dir: str | os.PathLike[str]) -> BackupManifest:
        """Read ``<backup_dir>/manifest.json``; missing keys take the defaults.

        :raises FileNotFoundError: ``"No manifest.json found in <dir>"``.
        :raises ValueError: ``"Unsupported backup format version <v> (expected 1)"`` (a missing version
            counts as 0), or the file does not hold a JSON object.
        """
        directory = Path(backup_dir)
        path = directory / MANIFEST_FILE
        if not path.exists():
            msg = f"No {MANIFEST_FILE} found in {directory}"
            raise FileNotFoundError(msg)

        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            msg = f"Invalid {MANIFEST_FILE} in {directory}: expected a JSON object"
            raise ValueError(msg)
        version = data.get("format_version", 0)
        if version != FORMAT_VERSION:
            msg = f"Unsupported backup format version {version} (expected {FORMAT_VERSION})"
            raise ValueError(msg)

        return cls(
            format_version=version,
            created_at=data.get("created_at", ""),
            run_count=data.get("run_count", 0),
            run_hashes=data.get("run_hashes", []),
            entity_counts=data.get("entity_counts", {}),
            blob_count=data.get("blob_count", 0),
            blob_bytes=data.get("blob_bytes", 0),
            filters=data.get("filters", {}),
            include_blobs=data.get("include_blobs", True),
        )

    def validate(self, backup_dir: str | os.PathLike[str]) -> list[str]:
        """Check the directory layout against the manifest; return the problems (empty when valid).

        The messages are 0.2.1's: ``"Missing 'runs/' directory"``, ``"Missing run directories: {...}"``,
        ``"Unexpected run directories: {...}"``, ``"Run <hash>: missing <file>"``. The run hashes inside
        braces are listed in sorted order.
        """
        errors: list[str] = []
        runs_dir = Path(backup_dir) / "runs"
        if not runs_dir.is_dir():
            errors.append("Missing 'runs/' directory")
            return errors

        found = sorted(entry.name for entry in runs_dir.iterdir() if entry.is_dir())
        expected = sorted(self.run_hashes)
        if found != expected:
            missing = set(expected) - set(found)
            extra = set(found) - set(expected)
            if missing:
                errors.append(f"Missing run directories: {_set_repr(missing)}")
            if extra:
                errors.append(f"Unexpected run directories: {_set_repr(extra)}")

        for run_hash in found:
            run_dir = runs_dir / run_hash
            errors.extend(
                f"Run {run_hash}: missing {required}"
                for required in RUN_FILES
                if not (run_dir / required).exists()
            )
        return errors


__all__ = ["FORMAT_VERSION", "MANIFEST_FILE", "RUN_FILES", "BackupManifest"]
