"""``open_engine``: one entry point from a URL, a path or :class:`EngineSettings` to an open engine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .base import Engine
from .errors import EngineUnavailable
from .limits import EngineLimits, RetryPolicy
from .settings import EngineSettings

ENGINE_NAMES = ("lmdb", "fdb")
_EXPECTED = "one of " + ", ".join(ENGINE_NAMES)
_LMDB_OPTIONS: dict[str, type] = {"map_size": int, "max_readers": int, "sync": bool, "threads": int}
_FDB_OPTIONS: dict[str, type] = {"threads": int}


def open_engine(
    target: str | os.PathLike[str] | EngineSettings | None = None,
    *,
    limits: EngineLimits | None = None,
    retry: RetryPolicy | None = None,
) -> Engine:
    """Open the engine named by ``target``; every problem is one :class:`EngineUnavailable`, raised now.

    ``target`` may be:

    * ``"lmdb:///abs/dir"`` or ``"lmdb://rel/dir"``, optionally with ``?map_size=...&sync=false&
      max_readers=...&threads=...``; a :class:`~pathlib.Path`, or a string that contains a path separator
      or names an existing directory, means the same;
    * ``"fdb"`` / ``"fdb://"`` (cluster file from ``FDB_CLUSTER_FILE`` or the default path) or
      ``"fdb:///path/to/fdb.cluster"``; the cluster file must exist and the cluster must answer;
    * ``"lmdb"`` alone: the directory from the settings (``$MATYAN_DATA_DIR/kv``);
    * :class:`EngineSettings`, or ``None`` to read them from the environment.
    """
    if target is None or isinstance(target, EngineSettings):
        return _from_settings(target or EngineSettings(), limits, retry)
    if isinstance(target, os.PathLike):
        return _lmdb(Path(target), {}, EngineSettings(), limits, retry)
    text = target.strip()
    if "://" in text:
        return _from_url(text, limits, retry)
    if text in ENGINE_NAMES:
        return _from_settings(EngineSettings(matyan_store_engine=text), limits, retry)
    if os.sep in text or "/" in text or Path(text).is_dir():
        return _lmdb(Path(text), {}, EngineSettings(), limits, retry)
    raise EngineUnavailable(
        f"unknown engine {text!r}; expected one of {', '.join(ENGINE_NAMES)} or an engine URL"
    )


def _from_settings(
    settings: EngineSettings, limits: EngineLimits | None, retry: RetryPolicy | None
) -> Engine:
    name = settings.matyan_store_engine.strip()
    if "://" in name:
        return _from_url(name, limits, retry, settings)
    retry = retry or settings.retry_policy
    if name == "lmdb":
        return _lmdb(settings.lmdb_dir, {}, settings, limits, retry)
    if name == "fdb":
        return _fdb(settings.fdb_cluster_file or None, {}, settings, limits, retry)
    raise EngineUnavailable(f"unknown engine {name!r} in MATYAN_STORE_ENGINE; expected {_EXPECTED}")


def _from_url(
    url: str, limits: EngineLimits | None, retry: RetryPolicy | None, settings: EngineSettings | None = None
) -> Engine:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    location = unquote(parts.netloc + parts.path)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    settings = settings or EngineSettings()
    if scheme == "lmdb":
        if not location:
            raise EngineUnavailable(f"engine URL {url!r} names no directory")
        return _lmdb(Path(location), _options(url, query, _LMDB_OPTIONS), settings, limits, retry)
    if scheme == "fdb":
        return _fdb(location or None, _options(url, query, _FDB_OPTIONS), settings, limits, retry)
    raise EngineUnavailable(
        f"unknown engine {scheme!r} in {url!r}; expected one of {', '.join(ENGINE_NAMES)}"
    )


def _options(url: str, query: dict[str, str], allowed: dict[str, type]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name, raw in query.items():
        kind = allowed.get(name)
        if kind is None:
            raise EngineUnavailable(
                f"unknown option {name!r} in engine URL {url!r}; allowed: {', '.join(allowed)}"
            )
        try:
            options[name] = _parse_bool(raw) if kind is bool else int(raw)
        except ValueError:
            raise EngineUnavailable(f"bad value {raw!r} for {name!r} in engine URL {url!r}") from None
    return options


def _parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _lmdb(
    path: Path,
    options: dict[str, Any],
    settings: EngineSettings,
    limits: EngineLimits | None,
    retry: RetryPolicy | None,
) -> Engine:
    from .lmdb_engine import LmdbEngine

    return LmdbEngine(
        path,
        map_size=options.get("map_size", settings.matyan_lmdb_map_size),
        max_readers=options.get("max_readers", settings.matyan_lmdb_max_readers),
        sync=options.get("sync", settings.matyan_lmdb_sync),
        threads=options.get("threads", settings.fdb_thread_pool_size),
        limits=limits,
        retry=retry or settings.retry_policy,
    )


def _fdb(
    cluster_file: str | None,
    options: dict[str, Any],
    settings: EngineSettings,
    limits: EngineLimits | None,
    retry: RetryPolicy | None,
) -> Engine:
    if settings.fdb_api_version != 730:
        raise EngineUnavailable(f"FDB_API_VERSION must be 730, got {settings.fdb_api_version}")
    # Imported here so that nothing loads the fdb bindings unless this engine is opened.
    from .fdb_engine import FdbEngine

    return FdbEngine(
        cluster_file or settings.fdb_cluster_file or None,
        threads=options.get("threads", settings.fdb_thread_pool_size),
        limits=limits,
        retry=retry or settings.retry_policy,
    )
