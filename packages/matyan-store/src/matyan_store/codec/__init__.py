"""Series storage format: points kept as compressed column blocks with summaries (pure functions).

A series ``(run, context id, name)`` is a sorted list of blocks, each holding consecutive steps. The
storage layer keys blocks by their first step, keeps their summaries, writes by merging points into
the owning block (:func:`owner_index`, :func:`merge_block`) and splitting it (:func:`split_block`),
and reads through :func:`read_range`, :func:`downsample`, :func:`tail` and
:func:`last_point`.
"""

from matyan_store.codec.block import SKETCH_WINDOW, Block
from matyan_store.codec.block_codec import (
    BLOCK_VERSION,
    decode_block,
    encode_block,
    encode_block_columns,
    read_block_summary,
)
from matyan_store.codec.merge import (
    DEFAULT_MAX_POINTS,
    DEFAULT_TARGET_BYTES,
    EncodedBlock,
    merge_block,
    owner_index,
    split_block,
)
from matyan_store.codec.object_codec import decode_object_bytes, encode_object
from matyan_store.codec.points import Point, Value, ValueKind, infer_kind, normalize_point
from matyan_store.codec.reads import (
    Loader,
    concat_blocks,
    downsample,
    empty_block,
    last_point,
    read_range,
    tail,
)
from matyan_store.codec.summary import BlockSummary, combine_summaries, decode_summary, encode_summary
from matyan_store.codec.value_parts import MAX_VALUE_BYTES, join_parts, split_into_parts

__all__ = [
    "BLOCK_VERSION",
    "DEFAULT_MAX_POINTS",
    "DEFAULT_TARGET_BYTES",
    "MAX_VALUE_BYTES",
    "SKETCH_WINDOW",
    "Block",
    "BlockSummary",
    "EncodedBlock",
    "Loader",
    "Point",
    "Value",
    "ValueKind",
    "combine_summaries",
    "concat_blocks",
    "decode_block",
    "decode_object_bytes",
    "decode_summary",
    "downsample",
    "empty_block",
    "encode_block",
    "encode_block_columns",
    "encode_object",
    "encode_summary",
    "infer_kind",
    "join_parts",
    "last_point",
    "merge_block",
    "normalize_point",
    "owner_index",
    "read_block_summary",
    "read_range",
    "split_block",
    "split_into_parts",
    "tail",
]
