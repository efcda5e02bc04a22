"""open_engine: URLs, paths, settings, and one clear error for anything unusable."""

from __future__ import annotations

from pathlib import Path

import pytest

from matyan_store.engine import EngineSettings, EngineUnavailable, LmdbEngine, open_engine


@pytest.mark.parametrize("target", ["mongodb", "sqlite://x.db", "rocks:///tmp/x"])
def test_unknown_engine_names_fail_at_open(target: str) -> None:
    with pytest.raises(EngineUnavailable, match=r"unknown engine .*expected one of lmdb, fdb"):
        open_engine(target)


def test_unknown_engine_in_settings_names_the_variable() -> None:
    with pytest.raises(EngineUnavailable, match="MATYAN_STORE_ENGINE"):
        open_engine(EngineSettings(matyan_store_engine="cassandra"))


def test_missing_cluster_file_fails_at_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.cluster"
    with pytest.raises(EngineUnavailable, match=r"cluster file .*nope\.cluster.* does not exist"):
        open_engine(f"fdb://{missing}")
    monkeypatch.setenv("FDB_CLUSTER_FILE", str(missing))
    with pytest.raises(EngineUnavailable, match=r"nope\.cluster"):
        open_engine("fdb")


def test_fdb_without_client_library_or_cluster_is_one_clear_error(tmp_path: Path) -> None:
    cluster = tmp_path / "fdb.cluster"
    cluster.write_text("test:test@127.0.0.1:1\n")
    # Here libfdb_c is absent (the error names it); where it is present, nothing listens on port 1.
    with pytest.raises(EngineUnavailable, match=r"libfdb_c|not reachable"):
        open_engine(f"fdb://{cluster}")


def test_bad_url_options_fail_at_open(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="unknown option 'colour'"):
        open_engine(f"lmdb://{tmp_path}/kv?colour=red")
    with pytest.raises(EngineUnavailable, match="bad value 'maybe' for 'sync'"):
        open_engine(f"lmdb://{tmp_path}/kv?sync=maybe")
    with pytest.raises(EngineUnavailable, match="names no directory"):
        open_engine("lmdb://")


def test_lmdb_from_url_path_and_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_engine(f"lmdb://{tmp_path}/a?map_size={1 << 26}&sync=false") as eng:
        assert isinstance(eng, LmdbEngine)
        assert eng.path == tmp_path / "a"
        assert eng.map_size == 1 << 26
        eng.transact(lambda tr: tr.set(b"k", b"a"))
    with open_engine(tmp_path / "a") as eng:
        assert eng.read(lambda tr: tr.get(b"k")) == b"a"
    with open_engine(str(tmp_path / "b")) as eng:
        assert isinstance(eng, LmdbEngine)
        assert eng.path == tmp_path / "b"
    monkeypatch.setenv("MATYAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FDB_RETRY_MAX_ATTEMPTS", "7")
    with open_engine("lmdb") as eng:
        assert isinstance(eng, LmdbEngine)
        assert eng.path == tmp_path / "data" / "kv"
        assert eng.retry.max_attempts == 7
