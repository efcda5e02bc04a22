"""Blob key and prefix validation."""

from __future__ import annotations

import pytest

from matyan_store.blobs import InvalidBlobKeyError, key_in_run, run_prefix, validate_key, validate_prefix


@pytest.mark.parametrize(
    "key",
    [
        "run1/model.pt",
        "01HZX3Q7J5K8M9N2P4R6S8T0VW/seq/images/5.png",
        "artifacts/run1/x",
        "run1/dir with spaces/ünïcödé.txt",
        "run1/.hidden",
        "run1/a..b",
        "single",
    ],
)
def test_valid_keys_pass_unchanged(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/abs/path",
        "..",
        "../x",
        "run/../x",
        "run/..",
        "./x",
        "run//x",
        "run/",
        "run\\..\\x",
        "C:/windows",
        "run/\x00x",
        "run/\nx",
        "run/.matyan-partial-abc",
        "r/" + "x" * 1100,
    ],
)
def test_unsafe_keys_are_rejected(key: str) -> None:
    with pytest.raises(InvalidBlobKeyError):
        validate_key(key)


def test_non_string_key_is_rejected() -> None:
    with pytest.raises(InvalidBlobKeyError, match="string"):
        validate_key(b"run/x")


def test_prefix_normalisation() -> None:
    assert validate_prefix("run1/", allow_empty=False) == "run1"
    assert validate_prefix("run1/seq", allow_empty=True) == "run1/seq"
    assert validate_prefix("", allow_empty=True) == ""
    with pytest.raises(InvalidBlobKeyError):
        validate_prefix("", allow_empty=False)
    with pytest.raises(InvalidBlobKeyError):
        validate_prefix("/", allow_empty=True)
    with pytest.raises(InvalidBlobKeyError):
        validate_prefix("run1//", allow_empty=True)


def test_key_in_run_only_under_the_runs_own_prefix() -> None:
    assert key_in_run("r1/model.pt", "r1")
    assert key_in_run("r1/seq/a/0.png", "r1")
    assert not key_in_run("r10/model.pt", "r1")
    assert not key_in_run("r2/model.pt", "r1")
    assert not key_in_run("r1", "r1")
    assert not key_in_run("r1/", "r1")
    assert not key_in_run("model.pt", "")
    assert not key_in_run("a/b/c", "a/b")
    assert not key_in_run("../x", "..")


def test_key_in_run_includes_the_legacy_artifacts_layout() -> None:
    assert key_in_run("artifacts/r1/model.pt", "r1")
    assert not key_in_run("artifacts/r10/model.pt", "r1")
    assert not key_in_run("artifacts/r1/", "r1")
    assert not key_in_run("other/r1/model.pt", "r1")


def test_run_prefix_only_for_ids_that_name_a_directory_of_their_own() -> None:
    assert run_prefix("r1") == "r1/"
    assert run_prefix("integration-0a1b") == "integration-0a1b/"
    for run_id in ("", "victim/seq", "r1/", "..", ".", "a\nb", "/abs"):
        assert run_prefix(run_id) is None, run_id
