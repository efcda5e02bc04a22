"""Routes of authentication: the login page, logout, the UI's refresh call, ``whoami`` and the token list.

``GET /login/`` shows a form asking for an API token; ``POST /login/`` checks it and sets the session
cookie (see :mod:`matyan_api.auth.session`), then sends the browser back to ``next`` (a path on this
origin only). With authentication off, the login page just sends the browser on.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from matyan_api.auth.access import ADMIN_PREFIX, LOGIN_PATH, LOGOUT_PATH, REFRESH_PATH
from matyan_api.auth.middleware import PRINCIPAL_STATE_KEY, Principal, SessionKeys
from matyan_api.auth.session import SESSION_COOKIE, sign_session
from matyan_api.auth.settings import AuthSettings
from matyan_api.deps import EngineDep
from matyan_store.tokens import list_tokens, verify_token

__all__ = ["auth_router"]

_MAX_FORM_BYTES = 8_192
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Matyan</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f5f7; display: flex; justify-content: center;
  align-items: center; min-height: 100vh; margin: 0; }}
form {{ background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px #0002; width: 22rem; }}
h1 {{ font-size: 1.3rem; margin-top: 0; }} input, button {{ width: 100%; box-sizing: border-box;
  padding: .6rem; margin-top: .5rem; font-size: 1rem; }} .error {{ color: #b00020; }}
</style></head>
<body><form method="post" action="{action}">
<h1>Sign in to Matyan</h1>
<p>Paste an API token (<code>matyan-backend tokens create --name me --scope read</code>).</p>
{error}<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{next}">
<button type="submit">Sign in</button>
</form></body></html>
"""


def _safe_next(value: str | None) -> str:
    # Only a path on this origin: "//host" or "/\\host" would send the browser elsewhere.
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


def _page(next_path: str, error: str = "") -> str:
    shown = f'<p class="error">{html.escape(error)}</p>\n' if error else ""
    return _PAGE.format(action=LOGIN_PATH, error=shown, next=html.escape(next_path, quote=True))


def auth_router(settings: AuthSettings, keys: SessionKeys) -> APIRouter:
    """The routes above, for an app whose authentication is configured by ``settings``."""
    router = APIRouter(include_in_schema=False)

    @router.get(LOGIN_PATH)
    async def login_page(request: Request) -> Response:
        next_path = _safe_next(request.query_params.get("next"))
        if not settings.enabled:
            return RedirectResponse(next_path, status_code=303)
        return HTMLResponse(_page(next_path))

    @router.post(LOGIN_PATH)
    async def login(request: Request, engine: EngineDep) -> Response:
        body = await request.body()
        form = parse_qs(body[:_MAX_FORM_BYTES].decode("utf-8", "replace"))
        next_path = _safe_next((form.get("next") or ["/"])[0])
        if not settings.enabled:
            return RedirectResponse(next_path, status_code=303)
        token = (form.get("token") or [""])[0].strip()
        info = await engine.aread(lambda tr: verify_token(tr, token)) if token else None
        if info is None:
            return HTMLResponse(_page(next_path, "That token is not valid."), status_code=401)
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            sign_session(await keys.get(engine), info.token_id, ttl_s=settings.session_ttl_s),
            max_age=settings.session_ttl_s,
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
            path="/",
        )
        return response

    @router.api_route(LOGOUT_PATH, methods=["GET", "POST"])
    async def logout() -> Response:
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.get(REFRESH_PATH)
    async def refresh() -> Response:
        # Sessions are not refreshed in place: the UI reloads after this, and an expired session's
        # page load redirects to the login page.
        return Response(status_code=204)

    @router.get("/api/v1/auth/whoami/")
    async def whoami(request: Request) -> dict[str, Any]:
        principal: Principal | None = request.scope.get("state", {}).get(PRINCIPAL_STATE_KEY)
        if principal is None:
            return {"auth": "enabled" if settings.enabled else "disabled"}
        token = principal.token
        return {
            "auth": "enabled",
            "token_id": token.token_id,
            "name": token.name,
            "scope": token.scope,
            "via": principal.via,
        }

    @router.get(ADMIN_PREFIX)
    async def tokens(engine: EngineDep) -> list[dict[str, Any]]:
        found = await engine.aread(list_tokens)
        return [
            {"token_id": t.token_id, "name": t.name, "scope": t.scope, "created_at": t.created_at}
            for t in found
        ]

    return router
