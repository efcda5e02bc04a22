"""Custom objects as the UI reads them: the five sequence types and each object's "dump".

See docs/http-contract.md, Custom objects.

A custom object is stored as one series point whose value is what the frontier sent: a dict (``{"type":
"image", "s3_key", "caption", ...}``), or for images and audios possibly a list of such dicts per step.
:class:`ObjectDumper` turns one step's stored value into what a response carries: for list types the
stored list sliced by ``index_range`` and evenly thinned to ``index_density``, each item dumped; for the
others one dumped object.

``index`` in a dump is the object's position within its step's stored list (0 for non-list types), and
an image or audio ``blob_uri`` carries that same original position, so a URI always resolves to the
object it was issued for whatever slicing or thinning happened (docs/http-contract.md, Quirk decisions).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from matyan_api.routes.runs_sampling import evenly_spaced
from matyan_store.blobs import BlobUriSigner, SeqBlobRef

__all__ = [
    "CUSTOM_SEQS",
    "CustomSeq",
    "ObjectDumper",
    "dump_audio",
    "dump_distribution",
    "dump_figure",
    "dump_image",
    "dump_text",
    "index_items",
]


@dataclass(frozen=True, slots=True)
class CustomSeq:
    """One custom-object sequence type: its URL/query name, stored dtype, and how its values are shaped."""

    seq: str
    dtype: str
    use_list: bool
    blob_uris: bool


CUSTOM_SEQS: Final[dict[str, CustomSeq]] = {
    s.seq: s
    for s in (
        CustomSeq("images", "image", use_list=True, blob_uris=True),
        CustomSeq("texts", "text", use_list=True, blob_uris=False),
        CustomSeq("distributions", "distribution", use_list=False, blob_uris=False),
        CustomSeq("audios", "audio", use_list=True, blob_uris=True),
        CustomSeq("figures", "figure", use_list=False, blob_uris=False),
    )
}


def _text(value: Any, default: str) -> str:
    if value is None:
        return default
    return value if isinstance(value, str) else str(value)


_INT64: Final = range(-(2**63), 2**63)


def _int(value: Any) -> int:
    """A whole number the stream can carry (int64), else 0."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and int(value) in _INT64:
        return int(value)
    return 0


def dump_image(value: Any, index: int, blob_uri: str) -> dict[str, Any]:
    """``{caption, width, height, format, blob_uri, index}``; a non-dict value gets every default."""
    stored: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
    return {
        "caption": _text(stored.get("caption"), ""),
        "width": _int(stored.get("width")),
        "height": _int(stored.get("height")),
        "format": _text(stored.get("format"), "png"),
        "blob_uri": blob_uri,
        "index": index,
    }


def dump_audio(value: Any, index: int, blob_uri: str) -> dict[str, Any]:
    """``{caption, format, blob_uri, index}``; a non-dict value gets every default."""
    stored: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
    return {
        "caption": _text(stored.get("caption"), ""),
        "format": _text(stored.get("format"), "wav"),
        "blob_uri": blob_uri,
        "index": index,
    }


def dump_text(value: Any, index: int) -> dict[str, Any]:
    """``{data, index}``: a dict's ``data`` (or ""), else ``str(value)`` ("" for a falsy value)."""
    if isinstance(value, Mapping):
        data = value.get("data")
        return {"data": _text(data, "") if data else "", "index": index}
    return {"data": str(value) if value else "", "index": index}


def _float64_blob(data: Any) -> bytes:
    """Stored bytes as they are, a list of numbers as little-endian float64, anything else ``b""``."""
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    if isinstance(data, list | tuple):
        try:
            return struct.pack(f"<{len(data)}d", *data)
        except (struct.error, TypeError):
            return b""
    return b""


def _range_pair(value: Any) -> list[Any]:
    if isinstance(value, list | tuple) and len(value) == 2:
        return [v if isinstance(v, int | float) and not isinstance(v, bool) else 0 for v in value]
    return [0, 0]


def dump_distribution(value: Any) -> dict[str, Any]:
    """``{data: {type: numpy, shape: bin_count, dtype: float64, blob}, bin_count, range}``.

    ``shape`` is the bin count, not the data length (as the UI expects); a non-dict value gives shape
    0, bin count 0 and range ``[0, 0]``.
    """
    stored: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
    bin_count = _int(stored.get("bin_count"))
    return {
        "data": {
            "type": "numpy",
            "shape": bin_count,
            "dtype": "float64",
            "blob": _float64_blob(stored.get("data")),
        },
        "bin_count": bin_count,
        "range": _range_pair(stored.get("range")),
    }


def dump_figure(value: Any, index: int) -> dict[str, Any]:
    """``{data: <JSON text>, index}``: dict/list data JSON-dumped, a string as is, otherwise ``"{}"``."""
    data = value.get("data") if isinstance(value, Mapping) else None
    if isinstance(data, str):
        text = data
    elif isinstance(data, Mapping | list):
        try:
            text = json.dumps(data)
        except (TypeError, ValueError):
            text = "{}"
    else:
        text = "{}"
    return {"data": text, "index": index}


def index_items(
    value: Any, index_range: tuple[int | None, int | None], density: int
) -> tuple[list[tuple[int, Any]], int]:
    """``([(original index, item)...], stored length)`` of a list-type step value.

    A scalar counts as a one-item list. The list is sliced by ``index_range`` (Python slice rules) and
    then thinned to ``density`` items with the evenly spaced pick.
    """
    items: Sequence[Any] = value if isinstance(value, list | tuple) else [value]
    start, stop = index_range
    indexed = list(enumerate(items))[start:stop]
    return evenly_spaced(indexed, density), len(items)


class ObjectDumper:
    """Dumps the step values of one trace (run, context id, name) of one custom sequence type.

    ``signer`` makes the image/audio blob URIs (``None`` leaves ``blob_uri`` empty: only for types
    without blobs).
    """

    def __init__(
        self,
        seq: CustomSeq,
        signer: BlobUriSigner | None,
        run_id: str,
        context_id: int,
        name: str,
        *,
        index_range: tuple[int | None, int | None] = (None, None),
        index_density: int = 0,
    ) -> None:
        self.seq = seq
        self._signer = signer
        self._run_id = run_id
        self._context_id = context_id
        self._name = name
        self._index_range = index_range
        self._index_density = index_density
        self.max_length = 0
        """The longest stored step list seen so far (list types)."""
        self._dump_one: Callable[[Any, int, int], dict[str, Any]] = {
            "image": lambda v, step, i: dump_image(v, i, self.blob_uri(step, i)),
            "audio": lambda v, step, i: dump_audio(v, i, self.blob_uri(step, i)),
            "text": lambda v, step, i: dump_text(v, i),
            "figure": lambda v, step, i: dump_figure(v, i),
            "distribution": lambda v, step, i: dump_distribution(v),
        }[seq.dtype]

    def blob_uri(self, step: int, index: int) -> str:
        """A signed URI of the object at ``index`` of ``step``'s stored list ("" if none can be made)."""
        if self._signer is None:
            return ""
        try:
            ref = SeqBlobRef(self._run_id, self._context_id, self._name, step, index)
            return self._signer.make_seq_blob_uri(ref)
        except ValueError:
            return ""  # a run id or name the locator format cannot carry: nothing to fetch

    def dump_step(self, step: int, value: Any) -> Any:
        """What a response carries for one step: a list of dumps (list types) or one dump."""
        if not self.seq.use_list:
            return self._dump_one(value, step, 0)
        return self.dump_list(step, value)

    def dump_list(self, step: int, value: Any) -> list[dict[str, Any]]:
        """The step's value as a list of dumps, sliced and thinned (a scalar is a one-item list)."""
        items, length = index_items(value, self._index_range, self._index_density)
        self.max_length = max(self.max_length, length)
        return [self._dump_one(item, step, index) for index, item in items]
