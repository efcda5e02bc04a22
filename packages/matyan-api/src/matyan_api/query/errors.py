"""The error a query raises before any streaming starts (docs/http-contract.md, Error envelope).

Both Python syntax errors and RestrictedPython's refusals (``run._x``, ``__import__``) surface as one
:class:`QuerySyntaxError`, found while the query is prepared, so routes answer an enveloped 400 instead
of cutting a 200 stream short as the reference does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["QuerySyntaxError"]


class QuerySyntaxError(ValueError):
    """A query that cannot be compiled; ``message`` is what the HTTP body says."""

    def __init__(
        self,
        reason: str,
        *,
        line: int | None = None,
        offset: int | None = None,
        statement: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.offset = offset
        self.statement = statement

    @property
    def message(self) -> str:
        """The 400 message: ``"Invalid query syntax: <reason>"``."""
        return f"Invalid query syntax: {self.reason}"

    def details(self) -> dict[str, Any]:
        """The structured form (name, message, line, offset, statement), for logs and tools."""
        return {
            "name": "SyntaxError",
            "message": self.reason,
            "line": self.line,
            "offset": self.offset,
            "statement": self.statement,
        }

    def to_body(self) -> dict[str, Any]:
        """The 400 response body: the API's error envelope with the message the UI shows.

        We keep the envelope (``{"error": {"code", "message"}, "detail"}``) rather than Aim's
        structured syntax-error body, so the position lives in :meth:`details` only.
        """
        return {"error": {"code": "bad_request", "message": self.message}, "detail": self.message}
