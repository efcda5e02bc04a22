"""The web UI's session cookie: ``<token id>.<expiry unix s>.<HMAC-SHA256 hex>``, HttpOnly, SameSite=Lax.

The cookie names the token the user signed in with, never the token itself; the MAC (keyed by the
store's shared session key, see ``matyan_store.tokens``) stops anyone from forging or extending one, and
the token is looked up on every request, so revoking it ends its sessions too.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Final

__all__ = ["SESSION_COOKIE", "sign_session", "verify_session"]

SESSION_COOKIE: Final = "matyan_session"


def _mac(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode("ascii"), hashlib.sha256).hexdigest()


def sign_session(key: bytes, token_id: str, *, ttl_s: int, now: float | None = None) -> str:
    """A cookie value for ``token_id`` valid for ``ttl_s`` seconds."""
    expires = int((time.time() if now is None else now) + ttl_s)
    payload = f"{token_id}.{expires}"
    return f"{payload}.{_mac(key, payload)}"


def verify_session(key: bytes, value: str, *, now: float | None = None) -> str | None:
    """The token id of a genuine, unexpired cookie value, else ``None``."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    token_id, expires, mac = parts
    if not hmac.compare_digest(mac, _mac(key, f"{token_id}.{expires}")):
        return None
    if int(expires) <= (time.time() if now is None else now):
        return None
    return token_id
