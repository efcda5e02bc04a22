"""The binary streaming codec of the search, logs and blob endpoints.

See docs/http-contract.md, Streaming frames.

Encoding side (what routes use): :func:`encode_tree` turns one frame into chunks for a
``StreamingResponse``; :class:`ProgressReporter` numbers progress frames and heartbeats;
:func:`encode_float64_array` builds the UI's numeric array dicts; :func:`guard_stream` ends a failing
stream with the error frame (:func:`error_frame`, also sent by the search relay) instead of a cut
connection. :mod:`.decoding` reads the format back
(tests and tools).
"""

from typing import Final

from matyan_api.streaming.arrays import decode_float64_array, encode_float64_array
from matyan_api.streaming.decoding import (
    CorruptStream,
    StreamDecoder,
    decode_frames,
    decode_key,
    decode_pairs,
    decode_value,
    fold_pairs,
)
from matyan_api.streaming.guard import ERROR_KEY, error_frame, guard_stream, stream_error
from matyan_api.streaming.pairs import (
    ARRAY,
    OBJECT,
    Tag,
    encode_key,
    encode_key_part,
    encode_pair,
    encode_value,
)
from matyan_api.streaming.progress import (
    PROGRESS_REPORT_INTERVAL,
    ProgressReporter,
    is_progress_key,
    make_progress_key,
    progress_frame,
)
from matyan_api.streaming.tree import coalesce, encode_pairs, encode_tree, encode_tree_bytes, flatten

# The content type of every stream (never JSON: the UI picks its decoder by content type).
STREAM_MEDIA_TYPE: Final = "application/octet-stream"

__all__ = [
    "ARRAY",
    "ERROR_KEY",
    "OBJECT",
    "PROGRESS_REPORT_INTERVAL",
    "STREAM_MEDIA_TYPE",
    "CorruptStream",
    "ProgressReporter",
    "StreamDecoder",
    "Tag",
    "coalesce",
    "decode_float64_array",
    "decode_frames",
    "decode_key",
    "decode_pairs",
    "decode_value",
    "encode_float64_array",
    "encode_key",
    "encode_key_part",
    "encode_pair",
    "encode_pairs",
    "encode_tree",
    "encode_tree_bytes",
    "encode_value",
    "error_frame",
    "flatten",
    "fold_pairs",
    "guard_stream",
    "is_progress_key",
    "make_progress_key",
    "progress_frame",
    "stream_error",
]
