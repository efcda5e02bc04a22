"""API tokens and the key that signs UI sessions.

A token is ``mty_<id>_<secret>``: ``id`` is 12 hex digits naming the token (shown by ``tokens list``,
used by ``tokens revoke``), ``secret`` is 64 hex digits (256 random bits). Only the SHA-256 digest of
the whole token is stored; a presented token is looked up by its id and its digest compared in constant
time, so the store never holds anything that could be replayed. The alphabet (hex and ``_``) lets a token
sit in a URL's userinfo (``http://user:TOKEN@host``) without escaping.

Scopes are levels: ``read`` < ``write`` < ``admin``; a token's scope grants every lower one.

Layout under ``SYSTEM / "auth"``:

- ``("token", id) -> {"name": str, "scope": str, "digest": hex str, "created_at": float}``;
- ``("session_key",) -> 32 random bytes``: the HMAC key of the UI's session cookies, created on first
  use so every API process and replica shares it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Final, Literal, cast

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.keys import SYSTEM
from matyan_store.values import decode_value, encode_value

__all__ = [
    "SCOPES",
    "Scope",
    "TokenInfo",
    "create_token",
    "get_or_create_session_key",
    "get_token",
    "list_tokens",
    "new_token",
    "revoke_token",
    "scope_allows",
    "token_id_of",
    "verify_token",
]

Scope = Literal["read", "write", "admin"]
SCOPES: Final[tuple[Scope, ...]] = ("read", "write", "admin")

_AUTH = SYSTEM[("auth",)]
_TOKENS = _AUTH[("token",)]
_SESSION_KEY = _AUTH.pack(("session_key",))
_TOKEN_RE: Final = re.compile(r"mty_([0-9a-f]{12})_([0-9a-f]{64})")
_SESSION_KEY_BYTES: Final = 32


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What is known about a stored token (never the token itself)."""

    token_id: str
    name: str
    scope: Scope
    created_at: float


def scope_allows(granted: Scope, required: Scope) -> bool:
    """Whether a token of scope ``granted`` may do what needs ``required``."""
    return SCOPES.index(granted) >= SCOPES.index(required)


def new_token() -> str:
    """A fresh random token (not stored yet: pass it to :func:`create_token`)."""
    return f"mty_{secrets.token_hex(6)}_{secrets.token_hex(32)}"


def token_id_of(token: str) -> str | None:
    """The id part of a well-formed token, or ``None`` for anything else."""
    found = _TOKEN_RE.fullmatch(token)
    return found.group(1) if found else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _decode(token_id: str, raw: bytes) -> tuple[TokenInfo, str] | None:
    fields = decode_value(raw)
    if not isinstance(fields, dict) or fields.get("scope") not in SCOPES:
        return None
    info = TokenInfo(
        token_id=token_id,
        name=str(fields.get("name", "")),
        scope=cast(Scope, fields["scope"]),
        created_at=float(fields.get("created_at", 0.0)),
    )
    return info, str(fields.get("digest", ""))


def create_token(
    tr: Transaction, token: str, *, name: str, scope: Scope, at: float | None = None
) -> TokenInfo:
    """Store ``token`` (from :func:`new_token`) under its id with ``name`` and ``scope``.

    The caller generates the token outside the transaction so a retried transaction stores the same
    one. ``ValueError`` for a malformed token, an unknown scope or an id already in use.
    """
    token_id = token_id_of(token)
    if token_id is None:
        raise ValueError("not a token made by new_token()")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    key = _TOKENS.pack((token_id,))
    if tr.get(key) is not None:
        raise ValueError(f"token id {token_id} is already in use")
    info = TokenInfo(token_id, name, scope, time.time() if at is None else float(at))
    value = {"name": name, "scope": scope, "digest": _digest(token), "created_at": info.created_at}
    tr.set(key, encode_value(value))
    return info


def list_tokens(tr: ReadTransaction) -> list[TokenInfo]:
    """Every stored token, ordered by id."""
    found: list[TokenInfo] = []
    for key, raw in tr.get_range(*_TOKENS.range()):
        decoded = _decode(str(_TOKENS.unpack(key)[0]), raw)
        if decoded is not None:
            found.append(decoded[0])
    return found


def revoke_token(tr: Transaction, token_id: str) -> bool:
    """Delete the token ``token_id``; whether there was one."""
    key = _TOKENS.pack((token_id,))
    if tr.get(key) is None:
        return False
    tr.clear(key)
    return True


def get_token(tr: ReadTransaction, token_id: str) -> TokenInfo | None:
    """The stored token ``token_id`` (a UI session names its token by id), or ``None``."""
    raw = tr.get(_TOKENS.pack((token_id,)))
    decoded = None if raw is None else _decode(token_id, raw)
    return None if decoded is None else decoded[0]


def verify_token(tr: ReadTransaction, token: str) -> TokenInfo | None:
    """The stored token matching ``token`` exactly, or ``None`` (one point read, constant-time compare)."""
    token_id = token_id_of(token)
    if token_id is None:
        return None
    raw = tr.get(_TOKENS.pack((token_id,)))
    decoded = None if raw is None else _decode(token_id, raw)
    if decoded is None:
        return None
    info, digest = decoded
    return info if hmac.compare_digest(digest, _digest(token)) else None


def get_or_create_session_key(tr: Transaction) -> bytes:
    """The key that signs UI session cookies, created (random) the first time it is asked for."""
    key = tr.get(_SESSION_KEY)
    if key is not None and len(key) == _SESSION_KEY_BYTES:
        return bytes(key)
    fresh = secrets.token_bytes(_SESSION_KEY_BYTES)
    tr.set(_SESSION_KEY, fresh)
    return fresh
