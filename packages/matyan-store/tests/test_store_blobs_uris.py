"""Signed, expiring blob URIs: round trips, expiry with a controlled clock, tampering, wrong secrets."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from matyan_store.blobs import (
    DEV_BLOB_URI_SECRET,
    BlobSettings,
    BlobUriError,
    BlobUriSecretError,
    BlobUriSigner,
    ExpiredBlobUriError,
    InvalidBlobKeyError,
    InvalidBlobUriError,
    SeqBlobRef,
)

T0 = 1_700_000_000  # a fixed issue time: expiry is tested against times we choose, never by sleeping


@pytest.fixture
def signer() -> BlobUriSigner:
    return BlobUriSigner(Fernet.generate_key().decode(), default_ttl=3600)


def test_blob_key_round_trip(signer: BlobUriSigner) -> None:
    key = "run123/checkpoints/epoch 3/model.pt"
    token = signer.make_blob_uri(key)
    assert signer.resolve_blob_uri(token) == key
    # Encrypted, not merely signed: the key is not readable from the token.
    assert key not in token
    assert "run123" not in token


def test_tokens_are_not_deterministic(signer: BlobUriSigner) -> None:
    assert signer.make_blob_uri("r/a", now=T0) != signer.make_blob_uri("r/a", now=T0)


def test_token_expires_after_its_ttl(signer: BlobUriSigner) -> None:
    token = signer.make_blob_uri("r/a.png", ttl=60, now=T0)
    assert signer.resolve_blob_uri(token, now=T0) == "r/a.png"
    assert signer.resolve_blob_uri(token, now=T0 + 60) == "r/a.png"
    with pytest.raises(ExpiredBlobUriError, match="expired"):
        signer.resolve_blob_uri(token, now=T0 + 61)


def test_default_ttl_applies(signer: BlobUriSigner) -> None:
    token = signer.make_blob_uri("r/a", now=T0)
    assert signer.resolve_blob_uri(token, now=T0 + 3600) == "r/a"
    with pytest.raises(ExpiredBlobUriError):
        signer.resolve_blob_uri(token, now=T0 + 3601)


def test_token_issued_in_the_future_is_refused(signer: BlobUriSigner) -> None:
    token = signer.make_blob_uri("r/a", now=T0 + 3600)
    with pytest.raises(InvalidBlobUriError, match="future"):
        signer.resolve_blob_uri(token, now=T0)
    assert signer.resolve_blob_uri(signer.make_blob_uri("r/a", now=T0 + 30), now=T0) == "r/a"


def _flip(token: str, position: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[position] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("position", [1, 9, 30, -40, -1])  # timestamp, IV, ciphertext, HMAC bytes
def test_tampered_token_is_rejected(signer: BlobUriSigner, position: int) -> None:
    token = signer.make_blob_uri("r/a.png", now=T0)
    with pytest.raises(InvalidBlobUriError, match="tampered"):
        signer.resolve_blob_uri(_flip(token, position), now=T0)


@pytest.mark.parametrize("garbage", ["", "invalid-uri", "gAAAAA", "ü-not-ascii", "a" * 200])
def test_garbage_is_rejected(signer: BlobUriSigner, garbage: str) -> None:
    with pytest.raises(InvalidBlobUriError):
        signer.resolve_blob_uri(garbage)


def test_token_from_another_secret_is_rejected(signer: BlobUriSigner) -> None:
    other = BlobUriSigner(Fernet.generate_key())
    with pytest.raises(InvalidBlobUriError, match="another BLOB_URI_SECRET"):
        signer.resolve_blob_uri(other.make_blob_uri("r/a"))


def test_errors_share_one_family(signer: BlobUriSigner) -> None:
    with pytest.raises(BlobUriError):
        signer.resolve_blob_uri("invalid-uri")
    with pytest.raises(ValueError, match="tampered"):  # generic handlers keep working
        signer.resolve_blob_uri("invalid-uri")


def test_unsafe_keys_are_refused_when_signing(signer: BlobUriSigner) -> None:
    with pytest.raises(InvalidBlobKeyError):
        signer.make_blob_uri("../etc/passwd")
    with pytest.raises(ValueError, match="ttl"):
        signer.make_blob_uri("r/a", ttl=0)


@pytest.mark.parametrize(
    "ref",
    [
        SeqBlobRef("run123", 0, "images", 5, 0),
        SeqBlobRef("abc", 42, "audios", 10, 3),
        SeqBlobRef("f" * 64, 4294967295, "images", 0, 12),
        SeqBlobRef("r1", 7, "nested__seq__name", 3, 1),  # seq names may contain "__"
    ],
)
def test_sequence_locator_round_trip(signer: BlobUriSigner, ref: SeqBlobRef) -> None:
    assert SeqBlobRef.decode(ref.encode()) == ref
    assert signer.resolve_seq_blob_uri(signer.make_seq_blob_uri(ref)) == ref


def test_sequence_locator_uses_the_reference_text_form() -> None:
    assert SeqBlobRef("run123", 0, "images", 5, 0).encode() == "run123__seqs__0__images__5__0"
    with pytest.raises(ValueError, match="__seqs__"):
        SeqBlobRef("bad__seqs__run", 0, "images", 5, 0).encode()


def test_sequence_locator_expires(signer: BlobUriSigner) -> None:
    token = signer.make_seq_blob_uri(SeqBlobRef("r", 0, "images", 1, 0), ttl=10, now=T0)
    with pytest.raises(ExpiredBlobUriError):
        signer.resolve_seq_blob_uri(token, now=T0 + 11)


def test_a_token_resolves_only_as_its_own_kind(signer: BlobUriSigner) -> None:
    key_token = signer.make_blob_uri("run1/a")
    seq_token = signer.make_seq_blob_uri(SeqBlobRef("run1", 0, "images", 1, 0))
    with pytest.raises(InvalidBlobUriError, match="blob key, not a sequence locator"):
        signer.resolve_seq_blob_uri(key_token)
    with pytest.raises(InvalidBlobUriError, match="sequence locator, not a blob key"):
        signer.resolve_blob_uri(seq_token)


def test_foreign_plaintext_under_the_same_key_is_rejected() -> None:
    # A token made with the right key but not by us (e.g. the reference's plaintext) must not resolve.
    key = Fernet.generate_key()
    foreign = Fernet(key).encrypt(b"run123__seqs__0__images__5__0").decode()
    with pytest.raises(InvalidBlobUriError):
        BlobUriSigner(key).resolve_seq_blob_uri(foreign)


@pytest.mark.parametrize(
    "secret", ["", "   ", "not-a-fernet-key", base64.urlsafe_b64encode(b"short").decode()]
)
def test_bad_secrets_are_refused_up_front(secret: str) -> None:
    with pytest.raises(BlobUriSecretError, match="BLOB_URI_SECRET"):
        BlobUriSigner(secret)


def test_signer_from_settings_uses_secret_and_ttl() -> None:
    settings = BlobSettings.from_values(blob_uri_secret=DEV_BLOB_URI_SECRET, blob_uri_ttl_seconds=5)
    signer = BlobUriSigner.from_settings(settings)
    token = signer.make_blob_uri("r/a", now=T0)
    assert BlobUriSigner(DEV_BLOB_URI_SECRET).resolve_blob_uri(token, now=T0 + 5) == "r/a"
    with pytest.raises(ExpiredBlobUriError):
        signer.resolve_blob_uri(token, now=T0 + 6)
