"""Opening a backup for restore: a directory, a parent of one, or a ``.tar.gz`` archive of one."""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from matyan_models import MANIFEST_FILE
from matyan_ops.runtime import UsageError


def is_archive(path: Path) -> bool:
    """Whether ``path`` names a gzip'd tar archive (``.gz`` / ``.tar.gz`` / ``.tgz``)."""
    return path.suffix in (".gz", ".tgz") or path.name.endswith(".tar.gz")


@contextmanager
def open_backup(path: Path, say: Callable[[str], None] | None = None) -> Iterator[Path]:
    """The backup directory to read; an archive is extracted to a temporary directory, removed after."""
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    if path.is_file():
        if not is_archive(path):
            raise UsageError(f"{path} is neither a backup directory nor a .tar.gz archive")
        tmp = Path(tempfile.mkdtemp(prefix="matyan-restore-"))
        try:
            if say is not None:
                say(f"Extracting archive to {tmp}")
            with tarfile.open(path, "r:gz") as tar:
                # The "data" filter refuses absolute paths, links out of the tree and device files.
                tar.extractall(tmp, filter="data")
            dirs = sorted(p for p in tmp.iterdir() if p.is_dir())
            if not dirs:
                raise UsageError("Archive contains no directories")
            yield dirs[0]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    if not (path / MANIFEST_FILE).exists():
        inner = [p for p in sorted(path.iterdir()) if p.is_dir() and (p / MANIFEST_FILE).exists()]
        if len(inner) == 1:
            yield inner[0]
            return
    yield path
