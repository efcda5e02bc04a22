"""The API process's side of the search pool: processes, their limits, and one request's messages.

:class:`SearchPool` keeps up to ``MATYAN_SEARCH_WORKERS`` search processes (each API worker process
has its own pool: no coordination between API processes, and the pool dies with its process). They
are started on first use, from multiprocessing's ``forkserver`` (the module is preloaded there, so
a new process is a fork of a warm, thread-free server: milliseconds, not an interpreter start-up).
:meth:`SearchPool.submit` hands a job to an idle process (waiting while all are busy) and returns a
:class:`SearchRun`, whose :meth:`SearchRun.events` yields the job's output and heartbeats on the
event loop and turns every way a job can end badly into a :class:`SearchFailed`. A run that did not end
cleanly (a limit, a crash, a client that went away) kills its process; a fresh one replaces it.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import socket
import time
import weakref
from collections.abc import AsyncIterator
from multiprocessing import spawn
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any, Final

from loguru import logger

from matyan_api.query.timing import record_planner_path
from matyan_api.search_pool.pipeline import SearchJob
from matyan_api.search_pool.protocol import Message, encode_message, read_message
from matyan_api.search_pool.settings import SearchSettings
from matyan_api.search_pool.worker import MEMORY_EXIT_CODE, WorkerConfig, worker_main

__all__ = ["SearchFailed", "SearchPool", "SearchRun"]

_PRELOAD: Final = ("matyan_api.search_pool.worker", "matyan_api.routes")
_PROCESS_NAME: Final = "matyan-search"
# Seconds a new search process may take to open the store before it counts as broken.
_START_TIMEOUT: Final = 60.0


class SearchFailed(Exception):  # noqa: N818 (reads as a statement, like the store's errors)
    """A search that ended badly: ``status`` and ``code`` for the envelope, ``message`` for the user."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _context() -> ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    # Only takes effect before the fork server first starts (once per API process). The routes hold
    # the job classes: imported there once, not in every search process.
    ctx.set_forkserver_preload(list(_PRELOAD))
    return ctx


_preparation_data = spawn.get_preparation_data


def _search_preparation_data(name: str) -> dict[str, Any]:
    """multiprocessing's start-up data, minus the main module for a search process.

    A child normally runs the parent's ``__main__`` again (the server's CLI, a test runner): seconds
    per process, for nothing a search uses (and the fork server's ``__main__`` preload does not
    help: Python 3.12 never hands it the main path).
    """
    data = _preparation_data(name)
    if name == _PROCESS_NAME:
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


spawn.get_preparation_data = _search_preparation_data


class _Process:
    """One search process and the API process's end of its socket."""

    def __init__(self, process: BaseProcess, sock: socket.socket) -> None:
        self.process = process
        self.sock = sock
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(sock=self.sock)
        message = await asyncio.wait_for(self.receive(), _START_TIMEOUT)
        while message is not None and message[0] != "ready":
            message = await asyncio.wait_for(self.receive(), _START_TIMEOUT)
        if message is None:
            raise SearchFailed(503, "search_unavailable", "A search process could not start")

    async def receive(self) -> Message | None:
        assert self.reader is not None
        message = await read_message(self.reader)
        while message is not None and message[0] in ("log", "planner"):
            _relay_side_message(message)
            message = await read_message(self.reader)
        return message

    def send(self, kind: str, payload: Any) -> None:
        assert self.writer is not None
        self.writer.write(encode_message(kind, payload))

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self.process.kill()
        if self.writer is not None:
            self.writer.close()
        else:
            self.sock.close()

    async def exit_reason(self, limits: SearchSettings) -> SearchFailed:
        """Why the process is gone, once it is (waits briefly for its exit status)."""
        await asyncio.to_thread(self.process.join, 1.0)
        code = self.process.exitcode
        if code == -signal.SIGXCPU:
            return SearchFailed(
                400,
                "search_cpu_limit",
                f"The query used more than the search CPU time limit "
                f"({limits.matyan_search_cpu_seconds} s) and was stopped",
            )
        if code == MEMORY_EXIT_CODE:
            return SearchFailed(
                400,
                "search_memory_limit",
                f"The query needed more than the search memory limit "
                f"({limits.matyan_search_memory_mb} MB) and was stopped",
            )
        logger.error("a search process ended unexpectedly (exit status {})", code)
        return SearchFailed(500, "internal_error", "The search process ended unexpectedly")


def _relay_side_message(message: Message) -> None:
    kind, payload = message
    if kind == "log":
        level, text = payload
        logger.log(level, text)
    else:
        record_planner_path(*payload)


class SearchPool:
    """Search processes of one API process (see the module docstring)."""

    def __init__(self, config: WorkerConfig, limits: SearchSettings) -> None:
        self.config = config
        self.limits = limits
        self.size = limits.workers
        self._idle: list[_Process] = []
        self._all: set[_Process] = set()
        self._slots = asyncio.Semaphore(self.size)
        self._closed = False
        self._warming: asyncio.Task[None] | None = None
        self._reapers: set[asyncio.Future[None]] = set()
        # Processes are killed even if nobody closes the pool (an app dropped without its lifespan).
        weakref.finalize(self, _kill_all, self._all)

    def warm(self) -> None:
        """Start one process in the background (the first search then finds it ready)."""
        if self._warming is None and not self._idle and not self._closed:
            self._warming = asyncio.ensure_future(self._warm())

    async def _warm(self) -> None:
        with contextlib.suppress(Exception):
            self._idle.append(await self._start())

    async def _start(self) -> _Process:
        parent, child = socket.socketpair()
        ctx = _context()
        process = ctx.Process(target=worker_main, args=(child, self.config), daemon=True, name=_PROCESS_NAME)
        try:
            await asyncio.to_thread(process.start)
        finally:
            child.close()
        handle = _Process(process, parent)
        self._all.add(handle)
        try:
            await handle.connect()
        except BaseException:
            self._discard(handle)
            raise
        return handle

    def _discard(self, handle: _Process) -> None:
        handle.kill()
        self._all.discard(handle)
        # Reaped off the event loop (a killed process is gone within milliseconds).
        reaper = asyncio.ensure_future(asyncio.to_thread(handle.process.join, 5.0))
        self._reapers.add(reaper)
        reaper.add_done_callback(self._reapers.discard)

    async def submit(self, job: SearchJob) -> SearchRun:
        """Give ``job`` to an idle process (waiting for one while all are busy)."""
        if self._closed:
            raise SearchFailed(503, "search_unavailable", "The search pool is closed")
        await self._slots.acquire()
        try:
            if self._warming is not None and not self._warming.done():
                await asyncio.shield(self._warming)
            handle = self._idle.pop() if self._idle else await self._start()
            handle.send("job", job)
        except BaseException:
            self._slots.release()
            raise
        return SearchRun(self, handle)

    def _release(self, handle: _Process, *, reusable: bool) -> None:
        if reusable and not self._closed:
            self._idle.append(handle)
        else:
            self._discard(handle)
        self._slots.release()

    async def close(self) -> None:
        """Stop every process (running searches end as failed)."""
        self._closed = True
        for handle in list(self._all):
            self._discard(handle)


def _kill_all(handles: set[_Process]) -> None:
    for handle in list(handles):
        with contextlib.suppress(Exception):
            handle.process.kill()


class SearchRun:
    """One job on one process: its output as events, under the wall-time limit."""

    def __init__(self, pool: SearchPool, handle: _Process) -> None:
        self._pool = pool
        self._handle = handle
        self._deadline = time.monotonic() + pool.limits.matyan_search_wall_seconds
        self._pending: asyncio.Task[Message | None] | None = None
        self._ended = False
        self._released = False

    async def events(self, interval: float) -> AsyncIterator[Message | None]:
        """The job's messages; ``None`` after ``interval`` seconds without one (a heartbeat tick).

        Ends after ``("end", None)``; raises :class:`SearchFailed` for a job's error, a limit or a
        crash (the process is then killed).
        """
        while not self._ended:
            if self._pending is None:
                self._pending = asyncio.ensure_future(self._handle.receive())
            timeout = min(interval, self._deadline - time.monotonic())
            if timeout <= 0:
                self.close()
                wall = self._pool.limits.matyan_search_wall_seconds
                raise SearchFailed(
                    400,
                    "search_time_limit",
                    f"The query ran longer than the search time limit ({wall:g} s) and was stopped",
                )
            done, _ = await asyncio.wait({self._pending}, timeout=timeout)
            if not done:
                if timeout >= interval:
                    yield None
                continue
            message, self._pending = self._pending.result(), None
            if message is None:
                failure = await self._handle.exit_reason(self._pool.limits)
                self.close()
                raise failure
            kind, payload = message
            if kind == "error":
                self._ended = True
                self.close()
                raise SearchFailed(*payload)
            if kind == "end":
                self._ended = True
                self.close()
            yield message

    def close(self) -> None:
        """Give the process back (after a clean end) or kill it; safe to call more than once."""
        if self._released:
            return
        self._released = True
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()
        self._pool._release(self._handle, reusable=self._ended)
