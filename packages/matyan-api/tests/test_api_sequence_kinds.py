"""Every reader groups a series by the one dtype rule (``matyan_models.sequence_kinds``).

Run info, ``/projects/params/`` and run search each once had a copy of the rule, and the copies
disagreed on plural dtypes such as ``images``; here each is compared with :func:`sequence_kind` for
every dtype the ingest path can store.
"""

from __future__ import annotations

from typing import Any

import httpx
from api_runs_fixtures import BASE, make_run, runs_blobs, runs_client, runs_engine, runs_publisher
from api_search_helpers import get_stream, split_frames, write_series

from matyan_models.sequence_kinds import LOG_DTYPES, OBJECT_DTYPES, SEQUENCE_KINDS, sequence_kind
from matyan_store.engine import Engine

__all__ = ["runs_blobs", "runs_client", "runs_engine", "runs_publisher"]

# What ingestion stores: log_metric's dtype (the client's type name, any string), log_custom_object's
# (the object kinds, "custom" by default, whatever else a client sends), terminal lines and log records.
INGESTED_DTYPES = (
    "float",
    "int",
    "bool",
    "float32",
    "custom",
    *OBJECT_DTYPES.values(),
    *(kind for kind in OBJECT_DTYPES),  # plural spellings: no object kind, so metrics
    *LOG_DTYPES,
)


def _name(dtype: str) -> str:
    return f"series_{dtype}"


def _seed(engine: Engine) -> None:
    make_run(engine, "r1")
    for dtype in INGESTED_DTYPES:
        value: Any = {"data": "x"} if sequence_kind(dtype) not in (None, "metric") else 0.5
        write_series(engine, "r1", _name(dtype), [value], dtype=dtype)


def _kinds_by_name(grouped: dict[str, Any]) -> dict[str, set[str]]:
    """Series name -> the kinds that list it, from a ``{kind: names or entries}`` answer."""
    out: dict[str, set[str]] = {}
    for kind, entries in grouped.items():
        names = list(entries) if isinstance(entries, dict) else [e["name"] for e in entries]
        for name in names:
            out.setdefault(name, set()).add(kind)
    return out


def _expected() -> dict[str, set[str]]:
    return {_name(d): {kind} for d in INGESTED_DTYPES if (kind := sequence_kind(d)) is not None}


def test_every_ingested_dtype_has_at_most_one_kind() -> None:
    for dtype in INGESTED_DTYPES:
        kinds = {kind for kind in SEQUENCE_KINDS if sequence_kind(dtype) == kind}
        assert len(kinds) == (0 if dtype in LOG_DTYPES else 1), dtype
    assert {sequence_kind(dtype) for dtype in OBJECT_DTYPES.values()} == set(SEQUENCE_KINDS) - {"metric"}
    assert sequence_kind("images") == "metric"


async def test_run_info_params_and_run_search_group_by_the_rule(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    _seed(runs_engine)
    expected = _expected()

    info = (await runs_client.get(f"{BASE}/runs/r1/info/")).json()
    assert _kinds_by_name(info["traces"]) == expected

    params = (await runs_client.get(f"{BASE}/projects/params/")).json()
    assert _kinds_by_name({kind: params[kind] for kind in SEQUENCE_KINDS}) == expected

    data, _ = split_frames(await get_stream(runs_client, f"{BASE}/runs/search/run/"))
    (run_id, frame), *_ = data
    assert run_id == "r1"
    assert _kinds_by_name(frame["traces"]) == {n: k for n, k in expected.items() if k == {"metric"}}
