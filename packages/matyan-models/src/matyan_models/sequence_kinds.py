"""Which kind of sequence a stored dtype is, the log sequences' names and the reserved attribute names.

One rule for every reader and writer: the ingest worker stores a series under the dtype the client
sent; the params catalogue, the run info's ``traces``, ``/projects/params`` and the metric and run
searches all group series by :func:`sequence_kind` of that dtype.

- ``image``, ``text``, ``distribution``, ``audio`` and ``figure`` are the custom-object kinds (the
  client's Image, Text, Distribution, Audio and Figure objects);
- ``logs`` (terminal lines) and ``log_records`` (log calls) have routes of their own and are no kind;
- every other dtype (``float``, ``int``, ``custom``, ... and plural spellings such as ``images``) is a
  metric.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = [
    "BLOBS_ATTR",
    "LOGS_DTYPE",
    "LOGS_SEQUENCE",
    "LOG_DTYPES",
    "LOG_RECORDS_DTYPE",
    "LOG_RECORDS_SEQUENCE",
    "OBJECT_DTYPES",
    "RESERVED_ATTRS",
    "SEQUENCE_KINDS",
    "SYSTEM_PARAMS_ATTR",
    "SequenceKind",
    "is_metric_dtype",
    "sequence_kind",
]

SequenceKind = Literal["metric", "images", "texts", "distributions", "audios", "figures"]
SEQUENCE_KINDS: Final[tuple[SequenceKind, ...]] = get_args(SequenceKind)
"""Every kind, in the order of the run info's ``traces`` keys."""

OBJECT_DTYPES: Final[dict[SequenceKind, str]] = {
    "images": "image",
    "texts": "text",
    "distributions": "distribution",
    "audios": "audio",
    "figures": "figure",
}
"""The dtype the series of each custom-object kind are stored under."""

LOGS_DTYPE: Final = "logs"
LOG_RECORDS_DTYPE: Final = "log_records"
LOG_DTYPES: Final = frozenset({LOGS_DTYPE, LOG_RECORDS_DTYPE})
LOGS_SEQUENCE: Final = "logs"
"""The series of a run's terminal lines (context ``{}``)."""
LOG_RECORDS_SEQUENCE: Final = "__log_records"
"""The series of a run's log records (context ``{}``)."""

BLOBS_ATTR: Final = "__blobs__"
"""Run attribute: artifact path -> ``{"s3_key", "content_type"}`` of each uploaded blob."""
SYSTEM_PARAMS_ATTR: Final = "__system_params"
"""Run attribute the client fills with system information (hidden with ``skip_system``)."""
RESERVED_ATTRS: Final = frozenset({BLOBS_ATTR, SYSTEM_PARAMS_ATTR})
"""Attributes that are never params (``/projects/params`` leaves them out)."""

_KIND_OF_DTYPE: Final[dict[str, SequenceKind]] = {dtype: kind for kind, dtype in OBJECT_DTYPES.items()}


def sequence_kind(dtype: str) -> SequenceKind | None:
    """The kind of a series stored under ``dtype``; ``None`` for the log dtypes."""
    if dtype in LOG_DTYPES:
        return None
    return _KIND_OF_DTYPE.get(dtype, "metric")


def is_metric_dtype(dtype: str) -> bool:
    """Whether a series of this dtype is a metric (what metric and run searches read)."""
    return sequence_kind(dtype) == "metric"
