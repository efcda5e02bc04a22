"""convert tensorboard: event files written here (tensorboard's own writer) become restorable runs."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from ops_store_fixtures import blob_store, make_place, open_at
from tensorboard.compat.proto import event_pb2, summary_pb2  # type: ignore[import-untyped]
from tensorboard.plugins.hparams import metadata as hp_metadata  # type: ignore[import-untyped]
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.plugins.text import metadata as text_metadata  # type: ignore[import-untyped]
from tensorboard.summary.writer.event_file_writer import EventFileWriter  # type: ignore[import-untyped]
from tensorboard.util import tensor_util  # type: ignore[import-untyped]

from matyan_models import BackupManifest
from matyan_ops.ops_commands import convert_tensorboard_command
from matyan_ops.tensorboard_convert import run_id_for
from matyan_store import entities, runs, sequences
from matyan_store.sequences import SeriesKey

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
WALL = 1_700_000_000.0


def _event(step: int, *values: summary_pb2.Summary.Value) -> event_pb2.Event:
    return event_pb2.Event(wall_time=WALL + step, step=step, summary=summary_pb2.Summary(value=list(values)))


def write_events(run_dir: Path, with_extras: bool) -> None:
    run_dir.mkdir(parents=True)
    writer = EventFileWriter(str(run_dir))
    for step in range(10):
        writer.add_event(
            _event(step, summary_pb2.Summary.Value(tag="train/loss", simple_value=1.0 / (step + 1)))
        )
    if with_extras:
        histo = summary_pb2.HistogramProto(
            min=0.0,
            max=3.0,
            num=6,
            sum=9.0,
            sum_squares=17.0,
            bucket_limit=[1.0, 2.0, 3.0],
            bucket=[1.0, 2.0, 3.0],
        )
        writer.add_event(_event(2, summary_pb2.Summary.Value(tag="weights", histo=histo)))
        image = summary_pb2.Summary.Image(height=2, width=3, colorspace=3, encoded_image_string=PNG)
        writer.add_event(_event(4, summary_pb2.Summary.Value(tag="samples/img", image=image)))
        text_meta = text_metadata.create_summary_metadata(display_name="", description="")
        text_tensor = tensor_util.make_tensor_proto(["hello tb"])
        writer.add_event(
            _event(5, summary_pb2.Summary.Value(tag="notes", metadata=text_meta, tensor=text_tensor))
        )
        info = plugin_data_pb2.SessionStartInfo()
        info.hparams["lr"].number_value = 0.001
        info.hparams["layers"].number_value = 3
        info.hparams["optimizer"].string_value = "adam"
        info.hparams["bn"].bool_value = True
        content = plugin_data_pb2.HParamsPluginData(session_start_info=info, version=0).SerializeToString()
        meta = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name=hp_metadata.PLUGIN_NAME, content=content
            )
        )
        writer.add_event(
            _event(
                0,
                summary_pb2.Summary.Value(
                    tag=hp_metadata.SESSION_START_INFO_TAG, metadata=meta, tensor=hp_metadata.NULL_TENSOR
                ),
            )
        )
    writer.close()


def test_convert_writes_a_backup_that_restores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    logdir = tmp_path / "logs"
    write_events(logdir / "run_a", with_extras=True)
    write_events(logdir / "nested" / "run_b", with_extras=False)
    place = make_place(tmp_path, "store")
    place.env(monkeypatch)
    capsys.readouterr()
    assert convert_tensorboard_command(logdir, tmp_path / "out", experiment="tb", json_output=True) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["points"] == 10 + 1 + 1 + 1 + 10
    backup = Path(summary["path"])
    manifest = BackupManifest.read(backup)
    run_a, run_b = run_id_for(logdir, logdir / "run_a"), run_id_for(logdir, logdir / "nested" / "run_b")
    assert sorted(manifest.run_hashes) == sorted([run_a, run_b])
    assert manifest.validate(backup) == []

    from matyan_ops.ops_commands import restore_command

    assert restore_command(backup) == 0
    with open_at(place) as engine:
        meta = engine.read(lambda tr: runs.get_run(tr, run_a))
        assert meta is not None
        assert meta.name == "run_a"
        assert not meta.active
        assert meta.created_at == pytest.approx(WALL, abs=1e-3)
        exp = engine.read(lambda tr: entities.get_experiment_by_name(tr, "tb"))
        assert exp is not None
        assert meta.experiment_id == exp.id
        assert exp.run_count == 2
        hparams = engine.read(lambda tr: runs.get_run_attrs(tr, run_a, ("hparams",)))
        assert hparams == {"lr": 0.001, "layers": 3, "optimizer": "adam", "bn": True}
        summaries = {k.name: s for k, s in engine.read(lambda tr: sequences.list_run_series(tr, run_a))}
        assert {n: s.dtype for n, s in summaries.items()} == {
            "train/loss": "float",
            "weights": "distribution",
            "samples/img": "image",
            "notes": "text",
        }
        loss = engine.read(lambda tr: sequences.read_range(tr, SeriesKey(run_a, 0, "train/loss")))
        assert list(loss.steps) == list(range(10))
        assert list(loss.values) == pytest.approx([1.0 / (s + 1) for s in range(10)])
        assert loss.timestamps[3] == pytest.approx(WALL + 3)
        dist = engine.read(lambda tr: sequences.read_range(tr, SeriesKey(run_a, 0, "weights"))).values[0]
        assert dist["bin_count"] == 3
        assert struct.unpack("<3d", dist["data"]) == (1.0, 2.0, 3.0)
        img = engine.read(lambda tr: sequences.read_range(tr, SeriesKey(run_a, 0, "samples/img"))).values[0]
        assert (img["width"], img["height"], img["format"]) == (3, 2, "png")
        text = engine.read(lambda tr: sequences.read_range(tr, SeriesKey(run_a, 0, "notes"))).values[0]
        assert text == {"type": "text", "data": "hello tb"}
        meta_b = engine.read(lambda tr: runs.get_run(tr, run_b))
        assert meta_b is not None
        assert meta_b.name == "nested/run_b"
    store = blob_store(place)
    assert store.get(img["s3_key"]) == PNG
    store.close()


def test_convert_with_restore_goes_straight_to_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logdir = tmp_path / "logs"
    write_events(logdir, with_extras=False)
    place = make_place(tmp_path, "store")
    place.env(monkeypatch)
    assert convert_tensorboard_command(logdir, restore=True) == 0
    with open_at(place) as engine:
        loss = engine.read(
            lambda tr: sequences.read_range(tr, SeriesKey(run_id_for(logdir, logdir), 0, "train/loss"))
        )
        assert len(loss) == 10
    assert convert_tensorboard_command(logdir) == 2  # neither OUTPUT nor --restore
    assert convert_tensorboard_command(tmp_path / "nope", restore=True) == 2
