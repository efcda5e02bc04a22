"""``convert tensorboard``: TensorBoard event files to a backup (format v1) that ``restore`` loads.

One run per directory holding ``*tfevents*`` files (all of that directory's files, in name order).
What is converted, per summary tag (legacy and tensor-based summaries alike, via TensorBoard's own
``data_compat`` migration):

- scalars -> a float metric;
- histograms -> a ``distribution`` series (bucket counts as little-endian float64 bytes);
- images -> an ``image`` series whose values point at ``<run>/seq/<tag>/<step>[_i].<fmt>`` blobs;
- text -> a ``text`` series;
- hparams plugin session-start data -> the run's ``hparams`` attributes.

Other plugins' data is counted and skipped. Events are streamed: a run's points go straight to
``sequences.jsonl``; only per-series summaries stay in memory.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from matyan_models import BackupManifest
from matyan_models.sequence_kinds import BLOBS_ATTR
from matyan_ops import backup_layout as layout
from matyan_ops.backup_json import dumps, to_jsonable

try:  # the reader needs no TensorFlow: tensorboard ships pure-Python protos and a record reader
    from tensorboard import data_compat  # type: ignore[import-untyped]
    from tensorboard.backend.event_processing.event_file_loader import (  # type: ignore[import-untyped]
        EventFileLoader,
    )
    from tensorboard.plugins.hparams import metadata as hparams_metadata  # type: ignore[import-untyped]
    from tensorboard.util import tensor_util  # type: ignore[import-untyped]

    IMPORT_ERROR: str | None = None
except ImportError as exc:  # pragma: no cover - depends on the installation
    IMPORT_ERROR = f"the tensorboard package cannot be imported ({exc})"

EVENT_FILE_MARKER = "tfevents"
_SAFE_SEGMENT = re.compile(r"[^A-Za-z0-9._=-]+")


@dataclass
class _Series:
    dtype: str
    last: Any = None
    last_step: int = 0


@dataclass
class ConvertResult:
    """What a conversion wrote."""

    path: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)
    points: int = 0
    blob_count: int = 0
    blob_bytes: int = 0
    skipped_values: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "path": self.path,
            "runs": self.runs,
            "points": self.points,
            "blob_count": self.blob_count,
            "blob_bytes": self.blob_bytes,
            "skipped_values": self.skipped_values,
        }


def find_event_dirs(logdir: Path) -> list[Path]:
    """Directories under ``logdir`` (itself included) that hold event files, sorted."""
    found = {p.parent for p in logdir.rglob(f"*{EVENT_FILE_MARKER}*") if p.is_file()}
    return sorted(found)


def run_id_for(logdir: Path, run_dir: Path) -> str:
    """A stable id per (log directory, run directory): converting again gives the same ids."""
    key = f"{logdir.resolve()}::{run_dir.resolve().relative_to(logdir.resolve()).as_posix()}"
    return "tb-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def experiment_id_for(name: str) -> str:
    """A stable experiment id for ``--experiment NAME``."""
    return "tb-exp-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:24]


def _safe_path(tag: str) -> str:
    parts = [_SAFE_SEGMENT.sub("_", part) for part in tag.split("/") if part not in ("", ".", "..")]
    return "/".join(p for p in parts if p) or "_"


class _RunWriter:
    """Writes one run's files while its events stream by."""

    def __init__(self, run_id: str, run_dir: Path, result: ConvertResult) -> None:
        self.run_id = run_id
        self.dir = run_dir
        self.result = result
        self.series: dict[str, _Series] = {}
        self.hparams: dict[str, Any] = {}
        self.blobs: dict[str, dict[str, str]] = {}
        self.first_time: float | None = None
        self.last_time: float | None = None
        self.points = 0
        run_dir.mkdir(parents=True, exist_ok=True)
        self.out: IO[str] = (run_dir / layout.SEQUENCES_FILE).open("w", encoding="utf-8")

    def point(self, tag: str, dtype: str, step: int, wall_time: float, value: Any) -> None:
        series = self.series.setdefault(tag, _Series(dtype))
        converted, found = to_jsonable(value)
        line: dict[str, Any] = {"ctx_id": 0, "name": tag, "step": step, "value": converted, "time": wall_time}
        if found:
            line["value_bytes"] = found
        self.out.write(dumps(line) + "\n")
        if step >= series.last_step:
            series.last_step, series.last = step, converted if dtype in ("float", "text") else None
        self.points += 1
        self.result.points += 1

    def blob(self, relative: str, data: bytes, content_type: str) -> str:
        target = self.dir / layout.BLOBS_DIR / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        key = f"{self.run_id}/{relative}"
        self.blobs[relative] = {"s3_key": key, "content_type": content_type}
        self.result.blob_count += 1
        self.result.blob_bytes += len(data)
        return key

    def seen(self, wall_time: float) -> None:
        if wall_time <= 0:
            return
        self.first_time = wall_time if self.first_time is None else min(self.first_time, wall_time)
        self.last_time = wall_time if self.last_time is None else max(self.last_time, wall_time)

    def close(self, name: str, experiment_id: str | None) -> None:
        self.out.close()
        created = self.first_time or 0.0
        meta = {
            "name": name,
            "description": "Converted from TensorBoard",
            "created_at": created,
            "updated_at": self.last_time or created,
            "finalized_at": self.last_time or created,
            "is_archived": False,
            "active": False,
            "experiment_id": experiment_id,
            "client_start_ts": created,
            "duration": (self.last_time or created) - created,
            "pending_deletion": False,
        }
        attrs: dict[str, Any] = {}
        if self.hparams:
            attrs["hparams"] = self.hparams
        if self.blobs:
            attrs[BLOBS_ATTR] = self.blobs
        traces = [
            {"name": tag, "context_id": 0, "dtype": s.dtype, "last": s.last, "last_step": s.last_step}
            for tag, s in sorted(self.series.items())
        ]
        files = {
            layout.RUN_FILE: meta,
            layout.ATTRS_FILE: attrs,
            layout.TRACES_FILE: traces,
            layout.CONTEXTS_FILE: {"0": {}},
            layout.EXTRAS_FILE: {"source": layout.EXTRAS_SOURCE, "tags": [], "attrs_bytes": []},
        }
        for file_name, value in files.items():
            (self.dir / file_name).write_text(dumps(value), encoding="utf-8")


def _tensor_value(value: Any) -> Any:
    return tensor_util.make_ndarray(value.tensor)


def _handle_value(
    writer: _RunWriter, plugins: dict[str, str], value: Any, step: int, wall_time: float
) -> None:
    value = data_compat.migrate_value(value)
    tag = value.tag
    if value.HasField("metadata") and value.metadata.plugin_data.plugin_name:
        plugins[tag] = value.metadata.plugin_data.plugin_name
    plugin = plugins.get(tag, "")
    if plugin == "scalars":
        writer.point(tag, "float", step, wall_time, float(_tensor_value(value).item()))
    elif plugin == "histograms":
        buckets = _tensor_value(value).reshape(-1, 3) if value.tensor.tensor_shape.dim else None
        if buckets is None or len(buckets) == 0:
            return
        counts = [float(c) for c in buckets[:, 2]]
        writer.point(
            tag,
            "distribution",
            step,
            wall_time,
            {
                "type": "distribution",
                "bin_count": len(counts),
                "range": [float(buckets[0, 0]), float(buckets[-1, 1])],
                "dtype": "float64",
                "data": struct.pack(f"<{len(counts)}d", *counts),
            },
        )
    elif plugin == "images":
        items = list(_tensor_value(value).reshape(-1))
        width, height, encoded = items[0], items[1], items[2:]
        images = []
        for i, data in enumerate(encoded):
            fmt = _image_format(bytes(data))
            suffix = f"_{i}" if len(encoded) > 1 else ""
            relative = f"seq/{_safe_path(tag)}/{step}{suffix}.{fmt}"
            key = writer.blob(relative, bytes(data), f"image/{fmt}")
            images.append(
                {
                    "type": "image",
                    "s3_key": key,
                    "caption": "",
                    "format": fmt,
                    "width": int(width or 0),
                    "height": int(height or 0),
                }
            )
        if images:
            writer.point(tag, "image", step, wall_time, images[0] if len(images) == 1 else images)
    elif plugin == "text":
        texts = [
            t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t)
            for t in _tensor_value(value).reshape(-1)
        ]
        data = texts[0] if len(texts) == 1 else "\n".join(texts)
        writer.point(tag, "text", step, wall_time, {"type": "text", "data": data})
    elif plugin == hparams_metadata.PLUGIN_NAME:
        _handle_hparams(writer, value)
    else:
        key = plugin or "unknown"
        writer.result.skipped_values[key] = writer.result.skipped_values.get(key, 0) + 1


def _image_format(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpeg"
    if data.startswith(b"GIF8"):
        return "gif"
    return "png"


def _handle_hparams(writer: _RunWriter, value: Any) -> None:
    if value.tag != hparams_metadata.SESSION_START_INFO_TAG:
        return
    content = value.metadata.plugin_data.content
    info = hparams_metadata.parse_session_start_info_plugin_data(content)
    for name, hp in info.hparams.items():
        kind = hp.WhichOneof("kind")
        if kind == "number_value":
            number = hp.number_value
            writer.hparams[name] = (
                int(number) if float(number).is_integer() and abs(number) < 2**53 else number
            )
        elif kind == "string_value":
            writer.hparams[name] = hp.string_value
        elif kind == "bool_value":
            writer.hparams[name] = hp.bool_value


def _events(run_dir: Path) -> Iterator[Any]:
    for path in sorted(p for p in run_dir.iterdir() if p.is_file() and EVENT_FILE_MARKER in p.name):
        yield from EventFileLoader(str(path)).Load()


def convert_tensorboard(
    logdir: Path,
    output_root: Path,
    *,
    experiment: str | None,
    say: Callable[[str], None],
    run_done: Callable[[], None] | None = None,
    started: Callable[[int], None] | None = None,
) -> ConvertResult:
    """Write a backup of every run under ``logdir`` into the new directory ``output_root``."""
    if IMPORT_ERROR is not None:
        raise RuntimeError(IMPORT_ERROR)
    result = ConvertResult(path=str(output_root))
    run_dirs = find_event_dirs(logdir)
    (output_root / layout.RUNS_DIR).mkdir(parents=True)
    if started is not None:
        started(len(run_dirs))
    experiment_id = experiment_id_for(experiment) if experiment else None
    entity_counts: dict[str, int] = {}
    with (output_root / layout.ENTITIES_FILE).open("w", encoding="utf-8") as out:
        if experiment:
            data = {"id": experiment_id, "name": experiment, "description": "", "is_archived": False}
            out.write(json.dumps({"entity_type": "experiment", "data": data}) + "\n")
            entity_counts["experiment"] = 1
    run_ids: list[str] = []
    for run_dir in run_dirs:
        run_id = run_id_for(logdir, run_dir)
        relative = run_dir.resolve().relative_to(logdir.resolve()).as_posix()
        name = logdir.resolve().name if relative == "." else relative
        writer = _RunWriter(run_id, output_root / layout.RUNS_DIR / run_id, result)
        plugins: dict[str, str] = {}
        try:
            for event in _events(run_dir):
                writer.seen(float(event.wall_time))
                if event.HasField("summary"):
                    for value in event.summary.value:
                        _handle_value(writer, plugins, value, int(event.step), float(event.wall_time))
        finally:
            writer.close(name, experiment_id)
        run_ids.append(run_id)
        result.runs.append(
            {"run_id": run_id, "name": name, "points": writer.points, "series": len(writer.series)}
        )
        say(f"  Converted {relative} -> run {run_id} ({writer.points} point(s), {len(writer.series)} series)")
        if run_done is not None:
            run_done()
    BackupManifest(
        run_count=len(run_ids),
        run_hashes=run_ids,
        entity_counts=entity_counts,
        blob_count=result.blob_count,
        blob_bytes=result.blob_bytes,
        filters={"source": "tensorboard", "logdir": str(logdir)},
        include_blobs=True,
    ).write(output_root)
    return result
