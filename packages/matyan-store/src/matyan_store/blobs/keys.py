"""Validation of blob keys and prefixes.

Keys are ``<run_id>/<artifact_path>`` strings chosen by training clients, so they are untrusted input.
They are joined onto a bucket, container or local directory; a key that is absolute or contains a
``..`` segment could reach outside it on the local backend, and object stores would silently treat
``a//b`` or ``./b`` as keys distinct from ``a/b`` and ``b``. We therefore accept only plain relative
POSIX paths made of non-empty segments.
"""

from __future__ import annotations

from .errors import InvalidBlobKeyError

# S3 and GCS both cap object names at 1024 bytes of UTF-8; Azure allows more, the lowest wins.
MAX_KEY_BYTES = 1024

# The local backend writes a blob to a temporary sibling first and renames it into place, so that a
# crash never leaves a truncated blob under the real key. Keys may not use that name space.
PARTIAL_MARKER = ".matyan-partial-"


def _check_path(value: object, *, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidBlobKeyError(f"blob {what} must be a string, got {type(value).__name__}")
    if value == "":
        raise InvalidBlobKeyError(f"blob {what} must not be empty")
    if len(value.encode("utf-8", errors="surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidBlobKeyError(f"blob {what} is longer than {MAX_KEY_BYTES} bytes: {value[:80]!r}...")
    if value.startswith("/") or (len(value) >= 2 and value[1] == ":" and value[0].isalpha()):
        raise InvalidBlobKeyError(f"blob {what} must be relative, got absolute path {value!r}")
    if "\\" in value:
        raise InvalidBlobKeyError(f"blob {what} must use '/' as separator, got {value!r}")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidBlobKeyError(f"blob {what} contains control characters: {value!r}")
    for segment in value.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidBlobKeyError(
                f"blob {what} {value!r} has an empty, '.' or '..' segment; "
                "keys must be plain relative paths such as '<run_id>/<artifact_path>'"
            )
        if segment.startswith(PARTIAL_MARKER):
            raise InvalidBlobKeyError(f"blob {what} {value!r} uses the reserved name {PARTIAL_MARKER!r}")
    return value


def validate_key(key: object) -> str:
    """Return ``key`` unchanged if it is a safe blob key, else raise :class:`InvalidBlobKeyError`.

    A safe key is a non-empty relative POSIX path (``run_id/artifact/path.bin``) without empty,
    ``.`` or ``..`` segments, backslashes, control characters, or a trailing slash.
    """
    return _check_path(key, what="key")


def validate_prefix(prefix: object, *, allow_empty: bool) -> str:
    """Normalise a listing/deletion prefix: validate it like a key and drop one trailing ``/``.

    Prefixes name a "directory": ``"run1"`` and ``"run1/"`` both select the keys under ``run1/``
    and never ``run10/...``. The empty prefix (the whole store) is accepted only when
    ``allow_empty`` is true, so a bulk delete can never wipe a bucket by accident.
    """
    if prefix == "" and allow_empty:
        return ""
    if isinstance(prefix, str) and prefix.endswith("/") and prefix != "/":
        prefix = prefix[:-1]
    return _check_path(prefix, what="prefix")


def run_prefix(run_id: str) -> str | None:
    """The run's own blob prefix ``<run_id>/``, or ``None`` if the run id cannot name one.

    Run ids are any non-empty string on the wire. One containing ``/`` would name a directory inside
    another run's (``victim/seq`` lies under ``victim/``), and one that is not a safe key segment (``..``,
    control characters) names no directory at all: such runs own no blobs, so nothing is served, listed
    or deleted under them.
    """
    if not run_id or "/" in run_id:
        return None
    try:
        return f"{validate_prefix(run_id, allow_empty=False)}/"
    except InvalidBlobKeyError:
        return None


LEGACY_ARTIFACTS_DIR = "artifacts"
"""Early smoke scripts stored a run's files under ``artifacts/<run_id>/`` instead of ``<run_id>/``."""


def key_in_run(key: str, run_id: str) -> bool:
    """Whether ``key`` belongs to the run: under ``<run_id>/`` or the legacy ``artifacts/<run_id>/``.

    Artifact and custom-object keys are recorded by clients, so a run's metadata may name any key; a
    route serving a run's blobs serves only the run's own, never another run's, and deleting a run
    deletes only those (see docs/storage.md, Blobs).
    """
    prefix = run_prefix(run_id)
    if prefix is None:
        return False
    for owned in (prefix, f"{LEGACY_ARTIFACTS_DIR}/{prefix}"):
        if key.startswith(owned) and len(key) > len(owned):
            return True
    return False
