"""What ingestion makes of values at the edges of JSON (docs/http-contract.md, Values): each is stored
exactly or dead-lettered with a reason, and the batch goes on.
"""

from __future__ import annotations

import math
from typing import Any

from workers_fixtures import CLIENT_DT, Feed, engine, frontier_value

from matyan_store import deadletters, runs
from matyan_store.codec.object_codec import MAX_DEPTH
from matyan_store.engine import Engine, ReadTransaction
from matyan_workers.ingest.batching import BatchRunner

__all__ = ["engine"]


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def _raw_hparams(run_id: str, key: str, value_json: str) -> bytes:
    """A ``log_hparams`` Kafka value written by hand: what another producer than the frontier may send."""
    return (
        f'{{"type":"log_hparams","run_id":"{run_id}","timestamp":"2026-01-01T00:00:00Z",'
        f'"payload":{{"value":{{"{key}":{value_json}}}}}}}'
    ).encode()


def test_edge_values_are_stored_exactly(engine: Engine) -> None:
    hparams = {
        "big": 2**70,
        "small": -(2**80),
        "int64_max": 2**63 - 1,
        "long": "x" * 50_000,
        "emoji": "\U0001f600",
        "deep": _nested(MAX_DEPTH - 10),
    }
    values = [
        frontier_value("r1", {"type": "create_run", "client_datetime": CLIENT_DT}),
        frontier_value("r1", {"type": "log_hparams", "value": {"hparams": hparams}}),
    ]
    result = BatchRunner(engine, "g", max_messages=10, max_bytes=8 << 20).run(
        Feed().records(values, key="r1")
    )
    assert result.dead_letters == 0

    def check(tr: ReadTransaction) -> None:
        assert runs.get_run_attrs(tr, "r1")["hparams"] == hparams

    engine.read(check)


def test_json_edge_cases_of_other_producers(engine: Engine) -> None:
    # The frontier sends NaN as null; a producer writing JSON itself may use the NaN/Infinity literals,
    # which the envelope's parser reads as floats, and string escapes the frontier could never send.
    values = [
        frontier_value("r1", {"type": "create_run", "client_datetime": CLIENT_DT}),
        _raw_hparams("r1", "floats", '{"nan": NaN, "inf": Infinity, "minf": -Infinity, "big": 1e400}'),
        _raw_hparams("r1", "lone", '"\\ud800"'),  # a lone surrogate: not text, the message is invalid
        _raw_hparams("r1", "pair", '"\\ud83d\\ude00"'),  # a surrogate pair is one character
        # Deeper than the store holds (MAX_DEPTH): the envelope's JSON parser stops there already.
        _raw_hparams("r1", "deep", "[" * 230 + "]" * 230),
        _raw_hparams("r1", "deeper", "[" * 3000 + "]" * 3000),
        # One value past the store's value limit (100 kB, as on FoundationDB): refused, with its reason.
        frontier_value("r1", {"type": "log_hparams", "value": {"huge": "x" * 200_000}}),
        frontier_value("r1", {"type": "log_hparams", "value": {"after": 1}}),
    ]
    result = BatchRunner(engine, "g", max_messages=10, max_bytes=8 << 20).run(
        Feed().records(values, key="r1")
    )
    assert result.dead_letters == 4
    assert result.errors["validation"] == 3
    assert result.errors["fdb"] == 1

    def check(tr: ReadTransaction) -> None:
        attrs = runs.get_run_attrs(tr, "r1")
        floats = attrs["floats"]
        assert math.isnan(floats["nan"])
        assert (floats["inf"], floats["minf"], floats["big"]) == (math.inf, -math.inf, math.inf)
        assert attrs["pair"] == "\U0001f600"
        assert "lone" not in attrs
        assert "deep" not in attrs
        assert "deeper" not in attrs
        assert "huge" not in attrs
        assert attrs["after"] == 1
        letters = deadletters.list_dead_letters(tr, limit=0)
        assert sorted(d.offset for d in letters) == [2, 4, 5, 6]

    engine.read(check)
