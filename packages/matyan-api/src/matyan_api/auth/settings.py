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

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, populate_by_name=True
    )

    mode: Literal["enabled", "disabled", ""] = Field(default="", validation_alias="matyan_auth")
    session_ttl_s: int = Field(default=12 * 3600, gt=0, validation_alias="matyan_auth_session_ttl_s")
    cookie_secure: bool = Field(default=False, validation_alias="matyan_auth_cookie_secure")

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
