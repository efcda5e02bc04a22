"""Authentication settings (``MATYAN_AUTH*``) and the start-up rule for production.

``MATYAN_AUTH`` is ``enabled`` or ``disabled``; unset means off, which suits loopback development. In
production (``MATYAN_ENVIRONMENT=production``) an unset value refuses to start: an operator must either
enable authentication or write ``MATYAN_AUTH=disabled`` to say that something in front of the API (a
proxy, a private network) takes care of it. See docs/configuration.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["AuthSettings"]


class AuthSettings(BaseSettings):
    """What ``matyan-backend start`` and the API read about authentication."""

    # Fields carry the variables' own names: short names with aliases would also be read from bare
    # variables such as MODE, which some unrelated tool may well set.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    matyan_auth: Literal["enabled", "disabled", ""] = ""
    matyan_auth_session_ttl_s: int = Field(default=12 * 3600, gt=0)
    matyan_auth_cookie_secure: bool = False

    @property
    def mode(self) -> str:
        """``enabled``, ``disabled`` or empty (unset)."""
        return self.matyan_auth

    @property
    def session_ttl_s(self) -> int:
        """How long a UI session cookie stays valid."""
        return self.matyan_auth_session_ttl_s

    @property
    def cookie_secure(self) -> bool:
        """Whether the session cookie is marked Secure (HTTPS only)."""
        return self.matyan_auth_cookie_secure

    @property
    def enabled(self) -> bool:
        """Whether requests must carry a token or a session."""
        return self.mode == "enabled"

    def production_problems(self) -> list[str]:
        """What production mode refuses here: authentication merely unset."""
        if self.mode == "":
            return [
                "MATYAN_AUTH is unset: set enabled (API tokens: `matyan-backend tokens create`), or "
                "disabled when a proxy or private network in front authenticates"
            ]
        return []
