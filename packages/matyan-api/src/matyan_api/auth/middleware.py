"""The ASGI middleware that enforces authentication when ``MATYAN_AUTH=enabled``.

A request proves itself with an API token (``Authorization: Bearer <token>``, or as the password of
HTTP Basic auth) or with the web UI's session cookie. What it needs comes from
:func:`matyan_api.auth.access.required_access`. Without a valid credential:

- a UI page redirects (303) to the login page;
- an API call from a browser (it carries a session cookie, ``Sec-Fetch-Mode`` or the UI's
  ``X-Timezone-Offset`` header) gets a 403 envelope: the released UI answers a 401 by reloading, which
  would loop, so it never gets one;
- any other API call gets a 401 envelope with ``WWW-Authenticate``.

A token whose scope is too low gets a 403 envelope. Verified tokens are remembered for a few seconds,
so revoking one takes effect within :data:`CACHE_TTL_S`. The token never reaches a log line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import quote

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from matyan_api.auth.access import LOGIN_PATH, required_access
from matyan_api.auth.session import SESSION_COOKIE, verify_session
from matyan_api.auth.settings import AuthSettings
from matyan_api.errors import error_response
from matyan_api.ttl_cache import TTLCache
from matyan_api.ui import wants_page
from matyan_store.engine import Engine, ReadTransaction
from matyan_store.tokens import TokenInfo, get_or_create_session_key, get_token, scope_allows, verify_token

__all__ = ["CACHE_TTL_S", "PRINCIPAL_STATE_KEY", "AuthMiddleware", "Principal", "SessionKeys"]

CACHE_TTL_S: Final = 5.0
PRINCIPAL_STATE_KEY: Final = "auth_principal"
_CACHE_SIZE: Final = 1024
_BROWSER_HEADERS: Final = ("sec-fetch-mode", "x-timezone-offset")
_UNAUTHORIZED: Final = "A valid API token is required (Authorization: Bearer <token>)"
_SIGN_IN: Final = f"Not signed in, or the session expired: sign in at {LOGIN_PATH}"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: the token's record and how it was presented."""

    token: TokenInfo
    via: Literal["token", "session"]


class SessionKeys:
    """The store's session key, read (or created) once per process."""

    def __init__(self) -> None:
        self._key: bytes | None = None

    async def get(self, engine: Engine) -> bytes:
        """The key signing session cookies."""
        if self._key is None:
            self._key = await engine.atransact(get_or_create_session_key)
        return self._key


def _presented_token(headers: Headers) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, credentials = value.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


class AuthMiddleware:
    """Check every HTTP request against :func:`required_access`; see the module docstring."""

    def __init__(self, app: ASGIApp, *, settings: AuthSettings, ui_served: bool, keys: SessionKeys) -> None:
        self.app = app
        self.settings = settings
        self.ui_served = ui_served
        self.keys = keys
        # Keyed by the token's digest, so the cache holds no token either.
        self._tokens: TTLCache[str, TokenInfo] = TTLCache(ttl=CACHE_TTL_S, maxsize=_CACHE_SIZE)
        self._sessions: TTLCache[str, TokenInfo] = TTLCache(ttl=CACHE_TTL_S, maxsize=_CACHE_SIZE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.settings.enabled:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method = str(scope.get("method", "GET")).upper()
        path = str(scope.get("path", "/"))
        need = required_access(method, path, html_navigation=self.ui_served and wants_page(method, headers))
        if need == "open":
            await self.app(scope, receive, send)
            return
        engine: Engine = scope["app"].state.engine
        principal = await self._principal(engine, headers)
        if need == "ui":
            if principal is None:
                query = scope.get("query_string", b"").decode("latin-1")
                target = path + (f"?{query}" if query else "")
                redirect = RedirectResponse(f"{LOGIN_PATH}?next={quote(target, safe='')}", status_code=303)
                await redirect(scope, receive, send)
                return
        elif principal is None:
            if any(h in headers for h in _BROWSER_HEADERS) or SESSION_COOKIE in headers.get("cookie", ""):
                await error_response(403, _SIGN_IN)(scope, receive, send)
            else:
                challenge = {"WWW-Authenticate": 'Bearer realm="matyan", Basic realm="matyan"'}
                await error_response(401, _UNAUTHORIZED, headers=challenge)(scope, receive, send)
            return
        elif not scope_allows(principal.token.scope, need):
            detail = f"This needs a token with the {need} scope; this one has {principal.token.scope}"
            await error_response(403, detail)(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL_STATE_KEY] = principal
        await self.app(scope, receive, send)

    async def _principal(self, engine: Engine, headers: Headers) -> Principal | None:
        token = _presented_token(headers)
        if token is not None:
            digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
            info = await _cached(self._tokens, digest, engine, lambda tr: verify_token(tr, token))
            return None if info is None else Principal(info, "token")
        cookie = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
        if not cookie:
            return None
        token_id = verify_session(await self.keys.get(engine), cookie)
        if token_id is None:
            return None
        info = await _cached(self._sessions, token_id, engine, lambda tr: get_token(tr, token_id))
        return None if info is None else Principal(info, "session")


async def _cached(
    cache: TTLCache[str, TokenInfo],
    key: str,
    engine: Engine,
    read: Callable[[ReadTransaction], TokenInfo | None],
) -> TokenInfo | None:
    """The cached token info under ``key``, else ``read``'s answer (cached only when found)."""
    info = cache.get(key)
    if info is None:
        info = await engine.aread(read)
        if info is not None:
            cache.set(key, info)
    return info
