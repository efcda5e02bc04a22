"""The search process: opens the store, sets its limits, and runs the jobs the API process sends.

Started by :class:`~matyan_api.search_pool.pool.SearchPool` through multiprocessing's ``forkserver``
context (a clean single-threaded server process forks each one; nothing is forked from the API process,
whose threads and store handles stay its own). One job at a time. Limits:

- memory: ``RLIMIT_AS`` = the address space in use once the store is open + ``MATYAN_SEARCH_MEMORY_MB``;
  an allocation beyond it is a ``MemoryError``, reported, and the process exits;
- CPU: ``RLIMIT_CPU`` is moved to the CPU time used so far + ``MATYAN_SEARCH_CPU_SECONDS`` before each
  job; the kernel's ``SIGXCPU`` ends the process even inside a long C call (``max()``, ``sum()``);
- wall time and a client that went away: the API process kills the process.

Log lines are sent to the API process, which logs them (one log, one format).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from loguru import logger

from matyan_api.search_pool.pipeline import JobContext, SearchJob, run_job
from matyan_api.search_pool.protocol import recv_message, send_message
from matyan_api.settings import ApiSettings
from matyan_store.blobs import BlobUriSigner
from matyan_store.engine import Engine, EngineSettings, open_engine

__all__ = ["MEMORY_EXIT_CODE", "WorkerConfig", "engine_target", "worker_main"]

# Exit status of a search process that ran out of memory (the API process names the limit).
MEMORY_EXIT_CODE: Final = 86
_PR_SET_PDEATHSIG: Final = 1


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """What a search process needs: the engine to open, the app settings, its limits."""

    engine: EngineSettings | str
    settings: ApiSettings
    signer: BlobUriSigner
    cpu_seconds: int
    memory_mb: int


class _SocketOutbox:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send(self, kind: str, payload: Any = None) -> None:
        send_message(self.sock, kind, payload)


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the API process dies (no orphan keeps computing)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _address_space_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def _limit_memory(extra_mb: int) -> None:
    used = _address_space_bytes()
    if used is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = used + extra_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _limit_cpu(seconds: int) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _forward_logs(out: _SocketOutbox, level: str) -> None:
    def sink(message: Any) -> None:
        record = message.record
        with contextlib.suppress(OSError):
            out.send("log", (record["level"].name, str(message).rstrip("\n")))

    logger.remove()
    # Never variable values in a traceback: the API process decides how to show what it receives.
    logger.add(sink, level=level.upper(), format="{message}", backtrace=False, diagnose=False)


def worker_main(sock: socket.socket, config: WorkerConfig) -> None:
    """The search process's main loop (the target of its ``multiprocessing.Process``)."""
    _die_with_parent()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the API process, which stops us
    out = _SocketOutbox(sock)
    _forward_logs(out, config.settings.log_level)
    engine = open_engine(config.engine)
    ctx = JobContext(engine=engine, settings=config.settings, out=out, signer=config.signer)
    _limit_memory(config.memory_mb)
    out.send("ready")
    try:
        while True:
            message = recv_message(sock)
            if message is None:
                return  # the API process closed the pool
            kind, job = message
            if kind != "job" or not isinstance(job, SearchJob):
                continue
            _limit_cpu(config.cpu_seconds)
            if not _run(job, ctx):
                return
    finally:
        engine.close()


def _run(job: SearchJob, ctx: JobContext) -> bool:
    """Run one job; ``False`` when the process must not take another one."""
    try:
        run_job(job, ctx)
    except MemoryError:
        # The address-space limit: the memory is back once the frames unwind; exit so a fresh
        # process replaces this one, and let the API process say which limit it was.
        sys.exit(MEMORY_EXIT_CODE)
    except OSError:
        return False  # the socket to the API process is gone: nobody is listening
    except Exception:
        logger.exception("search job {} failed", type(job).__name__)
        ctx.out.send("error", (500, "internal_error", "Internal server error"))
    return True


def engine_target(engine: Engine) -> str:
    """An engine URL that opens the store ``engine`` has open (for an engine handed to the app)."""
    path = getattr(engine, "path", None)
    if engine.name == "lmdb" and path is not None:
        return f"lmdb://{Path(path).resolve()}?map_size={getattr(engine, 'map_size')}"  # noqa: B009
    cluster_file = getattr(engine, "cluster_file", None)
    if engine.name == "fdb":
        return f"fdb://{cluster_file}" if cluster_file else "fdb"
    raise ValueError(f"the search pool cannot reopen a {engine.name!r} engine")
