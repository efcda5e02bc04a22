"""The blob emulators round-trip real bytes through the fsspec filesystems the backend uses."""

from __future__ import annotations

import uuid
from typing import Any

import adlfs
import gcsfs
import pytest
import s3fs
from matyan_dev_services import AzureService, GcsService, S3Service

pytestmark = pytest.mark.services

PAYLOADS = {
    "image/0.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
    "audio/clip.wav": b"RIFF" + b"\x00\x7f" * 3000,
    "text/notes.txt": "ünïcode ✓\n".encode(),
}


def _round_trip(fs: Any, root: str) -> None:
    """put / get / list / delete under `root` (a bucket or container plus a per-test prefix)."""
    for key, data in PAYLOADS.items():
        fs.pipe_file(f"{root}/{key}", data)
    for key, data in PAYLOADS.items():
        assert fs.cat_file(f"{root}/{key}") == data
    assert fs.cat_file(f"{root}/image/0.png", start=0, end=8) == PAYLOADS["image/0.png"][:8]

    fs.invalidate_cache()
    found = sorted(p.removeprefix(f"{root}/") for p in fs.find(root))
    assert found == sorted(PAYLOADS)
    listed = {p.rsplit("/", 1)[-1] for p in fs.ls(f"{root}/image", detail=False)}
    assert listed == {"0.png"}
    assert fs.info(f"{root}/audio/clip.wav")["size"] == len(PAYLOADS["audio/clip.wav"])

    fs.rm_file(f"{root}/text/notes.txt")
    fs.invalidate_cache()
    assert not fs.exists(f"{root}/text/notes.txt")
    fs.rm(root, recursive=True)
    fs.invalidate_cache()
    assert fs.find(root) == []


def test_s3fs_round_trip(s3_service: S3Service) -> None:
    fs = s3fs.S3FileSystem(
        key=s3_service.access_key,
        secret=s3_service.secret_key,
        client_kwargs={"endpoint_url": s3_service.endpoint_url, "region_name": s3_service.region},
        skip_instance_cache=True,
    )
    _round_trip(fs, f"{s3_service.bucket}/{uuid.uuid4().hex}")


def test_adlfs_round_trip(azure_service: AzureService) -> None:
    fs = adlfs.AzureBlobFileSystem(
        connection_string=azure_service.connection_string, skip_instance_cache=True
    )
    _round_trip(fs, f"{azure_service.container}/{uuid.uuid4().hex}")


def test_gcsfs_round_trip(gcs_service: GcsService) -> None:
    fs = gcsfs.GCSFileSystem(
        endpoint_url=gcs_service.endpoint,
        token="anon",
        project=gcs_service.project,
        skip_instance_cache=True,
    )
    _round_trip(fs, f"{gcs_service.bucket}/{uuid.uuid4().hex}")
