"""Messages between the API process and a search process: a ``u32`` length, then a pickled tuple.

Both ends are this package, started by the API itself, so pickle is safe here. The API sends
``("job", SearchJob)``; a search process answers with, in order:

- ``("ready", None)`` once, when it has opened the store;
- per job: ``("prepared", None)`` once the query compiled (or ``("error", ...)``), then any number of
  ``("progress", (checked, total, skip_repeat))`` and ``("frames", ([(frame, position)...], total,
  skip_repeat))``, and ``("end", None)``;
- at any time ``("log", (level, text))`` and ``("planner", (path, endpoint, reason))``, which the API
  process logs and counts as its own.

``("error", (status, code, message))`` ends a job early: status is what the answer would be before
the stream starts.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import struct
from typing import Any, Final

__all__ = ["Message", "encode_message", "read_message", "recv_message", "send_message"]

type Message = tuple[str, Any]

_LENGTH: Final = struct.Struct("<I")


def encode_message(kind: str, payload: Any) -> bytes:
    """One message's bytes."""
    body = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(body)) + body


def send_message(sock: socket.socket, kind: str, payload: Any = None) -> None:
    """Write one message on a blocking socket (the search process's side)."""
    sock.sendall(encode_message(kind, payload))


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def recv_message(sock: socket.socket) -> Message | None:
    """Read one message from a blocking socket; ``None`` when the other end has closed it."""
    head = _recv_exactly(sock, _LENGTH.size)
    if head is None:
        return None
    body = _recv_exactly(sock, _LENGTH.unpack(head)[0])
    if body is None:
        return None
    kind, payload = pickle.loads(body)
    return str(kind), payload


async def read_message(reader: asyncio.StreamReader) -> Message | None:
    """Read one message from the API process's side; ``None`` when the search process is gone."""
    try:
        head = await reader.readexactly(_LENGTH.size)
        body = await reader.readexactly(_LENGTH.unpack(head)[0])
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    kind, payload = pickle.loads(body)
    return str(kind), payload
