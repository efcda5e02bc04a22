"""JSON in and out of the API: values strict JSON or UTF-8 cannot carry (docs/http-contract.md, Values).

One rule for every JSON route, decided here rather than per route:

- out: NaN and +-infinity are ``null`` (strict JSON has no form for them and the UI's ``JSON.parse``
  rejects Python's ``NaN``); ints of any size stay JSON numbers, digit for digit; a lone surrogate in
  a string is U+FFFD; bytes are UTF-8 text (invalid sequences replaced); dict keys are strings.
  :class:`SafeJSONResponse` is the app's default response class and renders the envelope too.
- in: a request body holding a lone surrogate (``"\\ud800"``, which Python's JSON parser accepts) is
  a 422: it is not text, the store's keys cannot hold it and no JSON response could send it back.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, Final

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse

__all__ = ["SafeJSONResponse", "dumps_safe", "find_lone_surrogate", "json_safe", "reject_lone_surrogates"]

_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _text(value: str) -> str:
    return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value


def json_safe(value: Any) -> Any:
    """``value`` with what strict JSON over UTF-8 cannot carry replaced (see the module docstring)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Mapping):
        return {_text(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return value


def _dumps(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def dumps_safe(content: Any) -> bytes:
    """``content`` as the JSON routes render it: plain JSON, or JSON of :func:`json_safe` of it."""
    try:
        return _dumps(content)
    except (ValueError, TypeError, UnicodeEncodeError):
        # NaN/infinity (ValueError), bytes or odd keys (TypeError), a lone surrogate.
        return _dumps(json_safe(content))


class SafeJSONResponse(JSONResponse):
    """A JSON response that never fails on a stored value: :func:`json_safe` when plain JSON cannot."""

    def render(self, content: Any) -> bytes:
        return dumps_safe(content)


def find_lone_surrogate(value: Any) -> str | None:
    """The first string (key or value) of parsed JSON holding a lone surrogate, else ``None``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


async def reject_lone_surrogates(request: Request) -> None:
    """App-wide dependency: 422 for a JSON body holding a lone surrogate.

    FastAPI has parsed the body already (``request.json()`` is cached) for routes that take one; for
    the others an unparsable body is none of our business.
    """
    if request.method in ("GET", "HEAD", "OPTIONS") or "json" not in request.headers.get(
        "content-type", "json"
    ):
        return
    body = await request.body()
    if b"\\u" not in body:  # JSON can spell a surrogate only as an escape (raw ones are invalid UTF-8)
        return
    try:
        parsed = await request.json()
    except (ValueError, RecursionError):
        return
    found = find_lone_surrogate(parsed)
    if found is not None:
        shown = found.encode("utf-8", "backslashreplace").decode("utf-8")
        raise HTTPException(422, f"a JSON string holds a lone surrogate, which is not text: {shown[:80]}")
