"""Signed, encrypted, expiring blob URIs handed to the UI.

A URI is an opaque Fernet token (``cryptography.fernet``) keyed with ``BLOB_URI_SECRET``. Fernet
authenticates the whole token, so a tampered token or one made with another secret is rejected, and
it authenticates the issue time it carries, which together with a time to live stored in the
encrypted payload gives expiry. The UI only ever sends tokens back verbatim, so the payload format is
ours to choose (docs/http-contract.md, Blob URIs).

Two kinds of target can be carried:

* a blob key (``<run_id>/<artifact_path>``): :meth:`BlobUriSigner.make_blob_uri` /
  :meth:`BlobUriSigner.resolve_blob_uri`;
* a custom-object locator, which is what the reference puts in image/audio URIs: the run, context
  id, sequence name, step, and the object's *original* index in the stored step list
  (:class:`SeqBlobRef`, :meth:`BlobUriSigner.make_seq_blob_uri` /
  :meth:`BlobUriSigner.resolve_seq_blob_uri`). The locator body keeps the reference's
  ``{run}__seqs__{ctx_id}__{seq_name}__{step}__{index}`` text.

Plaintext: ``<kind>:<ttl seconds>:<body>`` with kind ``k`` (blob key) or ``s`` (locator).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

from .errors import BlobUriSecretError, ExpiredBlobUriError, InvalidBlobKeyError, InvalidBlobUriError
from .keys import validate_key

_KIND_KEY = "k"
_KIND_SEQ = "s"
_SEQS_SEPARATOR = "__seqs__"
# Tokens stamped this far in the future are refused, as Fernet itself does when given a ttl: it
# tolerates small clock differences between API replicas but not forged far-future stamps.
MAX_CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True)
class SeqBlobRef:
    """Where a custom object (image, audio) lives: run, context, sequence, step and list index."""

    run_hash: str
    ctx_id: int
    seq_name: str
    step: int
    index: int

    def encode(self) -> str:
        """The reference's text form ``{run}__seqs__{ctx_id}__{seq_name}__{step}__{index}``."""
        if not self.run_hash or _SEQS_SEPARATOR in self.run_hash:
            raise ValueError(f"run hash {self.run_hash!r} is empty or contains {_SEQS_SEPARATOR!r}")
        if not self.seq_name:
            raise ValueError("sequence name must not be empty")
        return f"{self.run_hash}{_SEQS_SEPARATOR}{self.ctx_id}__{self.seq_name}__{self.step}__{self.index}"

    @classmethod
    def decode(cls, text: str) -> SeqBlobRef:
        """Parse :meth:`encode`'s output with the reference's rules (seq names may contain ``__``)."""
        run_hash, sep, rest = text.partition(_SEQS_SEPARATOR)
        parts = rest.rsplit("__", 2)
        if not sep or not run_hash or len(parts) != 3:
            raise ValueError(f"not a sequence blob locator: {text!r}")
        ctx_and_name, step, index = parts
        ctx_id, sep2, seq_name = ctx_and_name.partition("__")
        if not sep2 or not seq_name:
            raise ValueError(f"not a sequence blob locator: {text!r}")
        return cls(run_hash=run_hash, ctx_id=int(ctx_id), seq_name=seq_name, step=int(step), index=int(index))


class BlobUriSigner:
    """Makes and resolves blob URIs with one Fernet key and a default time to live."""

    def __init__(self, secret: str | bytes, default_ttl: int = 24 * 3600) -> None:
        """``secret`` is a Fernet key (URL-safe base64 of 32 bytes), normally ``BLOB_URI_SECRET``.

        An empty or malformed secret raises :class:`BlobUriSecretError` at once: the reference's
        fallback to a random per-call key made every URI unresolvable (docs/http-contract.md, Quirk
        decisions).
        """
        if not secret or (isinstance(secret, str) and not secret.strip()):
            raise BlobUriSecretError(
                "BLOB_URI_SECRET is empty; set it to a Fernet key (Fernet.generate_key())"
            )
        if default_ttl <= 0:
            raise ValueError(f"default_ttl must be positive, got {default_ttl}")
        try:
            self._fernet = Fernet(secret.strip() if isinstance(secret, str) else secret)
        except (ValueError, TypeError) as exc:
            raise BlobUriSecretError(
                "BLOB_URI_SECRET is not a Fernet key (URL-safe base64 encoding of 32 bytes)"
            ) from exc
        self._default_ttl = default_ttl

    @classmethod
    def from_settings(cls, settings: object) -> BlobUriSigner:
        """Build from anything with ``blob_uri_secret`` and ``blob_uri_ttl_seconds`` (``BlobSettings``)."""
        return cls(
            getattr(settings, "blob_uri_secret"),  # noqa: B009 - duck-typed on purpose
            int(getattr(settings, "blob_uri_ttl_seconds", 24 * 3600)),
        )

    # -- blob keys ---------------------------------------------------------------------------

    def make_blob_uri(self, key: str, ttl: int | None = None, *, now: int | None = None) -> str:
        """Encrypt and sign ``key``; the URI resolves for ``ttl`` seconds (default: the signer's).

        ``now`` (Unix seconds) overrides the issue time, for tests and replay tools.
        """
        return self._make(_KIND_KEY, validate_key(key), ttl, now)

    def resolve_blob_uri(self, token: str, *, now: int | None = None) -> str:
        """Return the blob key carried by ``token``.

        Raises :class:`ExpiredBlobUriError` once its ttl has passed and :class:`InvalidBlobUriError`
        if it is malformed, tampered with, signed with another secret, or carries a locator.
        """
        body = self._resolve(_KIND_KEY, token, now)
        try:
            return validate_key(body)
        except InvalidBlobKeyError as exc:
            raise InvalidBlobUriError(f"blob URI carries an unsafe key: {exc}") from exc

    # -- custom-object locators --------------------------------------------------------------

    def make_seq_blob_uri(self, ref: SeqBlobRef, ttl: int | None = None, *, now: int | None = None) -> str:
        """Encrypt and sign a custom-object locator (see :meth:`make_blob_uri`)."""
        return self._make(_KIND_SEQ, ref.encode(), ttl, now)

    def resolve_seq_blob_uri(self, token: str, *, now: int | None = None) -> SeqBlobRef:
        """Return the locator carried by ``token``; errors as in :meth:`resolve_blob_uri`."""
        body = self._resolve(_KIND_SEQ, token, now)
        try:
            return SeqBlobRef.decode(body)
        except ValueError as exc:
            raise InvalidBlobUriError(str(exc)) from exc

    # -- shared ------------------------------------------------------------------------------

    def _make(self, kind: str, body: str, ttl: int | None, now: int | None) -> str:
        ttl = self._default_ttl if ttl is None else ttl
        if ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl}")
        plaintext = f"{kind}:{ttl}:{body}".encode()
        issued = int(time.time()) if now is None else now
        return self._fernet.encrypt_at_time(plaintext, issued).decode("ascii")

    def _resolve(self, kind: str, token: str, now: int | None) -> str:
        if not isinstance(token, str) or not token:
            raise InvalidBlobUriError("blob URI is empty or not a string")
        try:
            raw = token.encode("ascii")
            # Decrypting without Fernet's ttl first tells "expired" apart from "forged": Fernet
            # raises the same InvalidToken for both when given a ttl.
            plaintext = self._fernet.decrypt(raw)
            issued = self._fernet.extract_timestamp(raw)
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise InvalidBlobUriError(
                "blob URI is malformed, was tampered with, or was signed with another BLOB_URI_SECRET"
            ) from exc
        try:
            got_kind, ttl_text, body = plaintext.decode("utf-8").split(":", 2)
            ttl = int(ttl_text)
        except ValueError as exc:
            raise InvalidBlobUriError("blob URI payload is not in the expected format") from exc
        if got_kind != kind:
            raise InvalidBlobUriError(f"blob URI carries a {_kind_name(got_kind)}, not a {_kind_name(kind)}")
        current = int(time.time()) if now is None else now
        if issued > current + MAX_CLOCK_SKEW_SECONDS:
            raise InvalidBlobUriError("blob URI was issued in the future")
        if current > issued + ttl:
            raise ExpiredBlobUriError(f"blob URI expired {current - issued - ttl}s ago (ttl {ttl}s)")
        return body


def _kind_name(kind: str) -> str:
    return {_KIND_KEY: "blob key", _KIND_SEQ: "sequence locator"}.get(kind, f"unknown payload {kind!r}")
