"""``matyan-backend tokens create|list|revoke``: the API tokens the API accepts when ``MATYAN_AUTH=enabled``.

``create`` prints the new token once, alone on stdout (``TOKEN=$(matyan-backend tokens create ...)``);
only its SHA-256 digest is stored, so a lost token cannot be shown again: revoke it and create another.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import cyclopts

from matyan_ops.runtime import EXIT_OK, EXIT_USAGE, open_store_engine
from matyan_store import tokens

__all__ = ["register"]

tokens_app = cyclopts.App(name="tokens", help="Create, list and revoke API tokens (read, write, admin).")


@tokens_app.command(name="create")
def create_command(
    *,
    name: str,
    scope: tokens.Scope = "read",
    json_output: Annotated[bool, cyclopts.Parameter(name="--json")] = False,
) -> int:
    """Create a token and print it (once).

    Parameters
    ----------
    name
        What the token is for (shown by ``tokens list``).
    scope
        read: GET and searches; write: also changes and deletes; admin: also the token list.
    json_output
        Print one JSON object (with the token) instead of the bare token.
    """
    token = tokens.new_token()
    with open_store_engine() as engine:
        info = engine.transact(lambda tr: tokens.create_token(tr, token, name=name, scope=scope))
    if json_output:
        print(json.dumps({"token": token, "token_id": info.token_id, "name": name, "scope": scope}))
    else:
        print(
            f"created token {info.token_id} ({scope}) named {name!r}; it is shown only now:", file=sys.stderr
        )
        print(token)
    return EXIT_OK


@tokens_app.command(name="list")
def list_command(*, json_output: Annotated[bool, cyclopts.Parameter(name="--json")] = False) -> int:
    """List the tokens (ids, names, scopes; never the tokens themselves).

    Parameters
    ----------
    json_output
        Print a JSON array.
    """
    with open_store_engine() as engine:
        found = engine.read(tokens.list_tokens)
    if json_output:
        print(json.dumps([dataclasses.asdict(t) for t in found]))
        return EXIT_OK
    for t in found:
        created = datetime.fromtimestamp(t.created_at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        print(f"{t.token_id}  {t.scope:<5}  {created}  {t.name}")
    if not found:
        print("no tokens", file=sys.stderr)
    return EXIT_OK


@tokens_app.command(name="revoke")
def revoke_command(token_id: str, /) -> int:
    """Revoke a token by its id (from ``tokens list``); its UI sessions end with it.

    Parameters
    ----------
    token_id
        The 12-hex-digit id.
    """
    with open_store_engine() as engine:
        removed = engine.transact(lambda tr: tokens.revoke_token(tr, token_id))
    if not removed:
        print(f"matyan-backend tokens revoke: no token {token_id}", file=sys.stderr)
        return EXIT_USAGE
    print(f"revoked token {token_id}", file=sys.stderr)
    return EXIT_OK


def register(app: cyclopts.App) -> None:
    """Add ``tokens`` to the ``matyan-backend`` CLI."""
    app.command(tokens_app)
