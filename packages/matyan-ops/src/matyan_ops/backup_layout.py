"""File names of backup format version 1 and the run directory names that are safe on disk."""

from __future__ import annotations

import os

ENTITIES_FILE = "entities.jsonl"
RUNS_DIR = "runs"
RUN_FILE = "run.json"
ATTRS_FILE = "attrs.json"
TRACES_FILE = "traces.json"
CONTEXTS_FILE = "contexts.json"
SEQUENCES_FILE = "sequences.jsonl"
BLOBS_DIR = "blobs"
EXTRAS_FILE = "extras.json"
"""Ours only: tag links, where attrs held bytes, the source. Readers of v1 ignore unknown files."""
PROJECT_FILE = "project.json"
"""Ours only: project settings and pinned sequences."""
BACKUP_DIR_PREFIX = "matyan-backup-"
EXTRAS_SOURCE = "matyan-ops"


def safe_dir_name(run_id: str) -> bool:
    """Whether ``run_id`` can be a directory name as it is (no separators, not ``.`` or ``..``)."""
    return (
        bool(run_id)
        and run_id not in (".", "..")
        and "/" not in run_id
        and os.sep not in run_id
        and ("\x00" not in run_id)
    )
