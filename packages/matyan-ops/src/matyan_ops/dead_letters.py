"""``matyan-backend dead-letters list|show|replay|purge``: inspect and act on the stored dead letters.

Dead letters are the Kafka messages a worker could not apply (:mod:`matyan_store.deadletters`).
``replay`` does not apply anything itself (the apply path belongs to the ingest worker): it records a
replay request next to each letter, and the ingest worker consuming the letter's partition applies it
through its normal path, removing the letter in the same transaction. A replay therefore takes effect
exactly once however often it is requested, and one that fails again leaves a new dead letter (same
topic, partition and offset, the new error). ``--wait`` polls until the worker has handled them.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Final

import cyclopts

from matyan_ops.ops_commands import JsonFlag, _guarded, _timestamp
from matyan_ops.runtime import EXIT_FAILURE, EXIT_OK, Output, UsageError, open_store_engine
from matyan_store import deadletters
from matyan_store.deadletters import DeadLetter
from matyan_store.engine import Engine, ReadTransaction, Transaction

__all__ = ["LetterFilter", "dead_letters_app", "matching_letters"]

_PAGE: Final = 500
_POLL_S: Final = 0.5


@dataclass(frozen=True, slots=True)
class LetterFilter:
    """Which letters a command acts on; every given criterion must hold."""

    ids: tuple[str, ...] = ()
    reason: str | None = None
    topic: str | None = None
    partition: int | None = None
    since: float | None = None
    until: float | None = None

    def matches(self, letter: DeadLetter) -> bool:
        """Whether ``letter`` passes every criterion (``reason`` is a case-insensitive substring)."""
        return (
            (not self.ids or letter.id in self.ids)
            and (self.reason is None or self.reason.lower() in letter.reason.lower())
            and (self.topic is None or letter.topic == self.topic)
            and (self.partition is None or letter.partition == self.partition)
            and (self.since is None or letter.at >= self.since)
            and (self.until is None or letter.at < self.until)
        )


def matching_letters(engine: Engine, flt: LetterFilter, limit: int = 0) -> Iterator[DeadLetter]:
    """The letters passing ``flt``, oldest first, read a page per transaction; ``limit`` 0 means all."""
    found = 0
    after: str | None = None
    while True:
        page = engine.read(partial(deadletters.list_dead_letters, limit=_PAGE, after=after))
        for letter in page:
            if flt.matches(letter):
                yield letter
                found += 1
                if limit and found >= limit:
                    return
        if len(page) < _PAGE:
            return
        after = page[-1].id


def _filter(
    ids: tuple[str, ...],
    reason: str | None,
    topic: str | None,
    partition: int | None,
    since: str | None,
    until: str | None,
) -> LetterFilter:
    return LetterFilter(
        ids, reason, topic, partition, _timestamp(since, "--since"), _timestamp(until, "--until")
    )


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _summary(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "topic": letter.topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "key": _text(letter.key),
        "reason": letter.reason,
        "error_type": letter.error_type,
        "at": datetime.fromtimestamp(letter.at, UTC).isoformat(),
        "value_size": letter.value_size,
        "truncated": letter.truncated,
    }


def _full(letter: DeadLetter) -> dict[str, Any]:
    return {
        **_summary(letter),
        "key_base64": None if letter.key is None else base64.b64encode(letter.key).decode(),
        "key_size": letter.key_size,
        "value": _text(letter.value),
        "value_base64": base64.b64encode(letter.value).decode(),
    }


# Shared options, documented once per command by cyclopts from each signature.
Reason = Annotated[str | None, cyclopts.Parameter(help="Only letters whose reason contains this text.")]
Topic = Annotated[str | None, cyclopts.Parameter(help="Only letters of this topic.")]
Partition = Annotated[int | None, cyclopts.Parameter(help="Only letters of this partition.")]
Since = Annotated[str | None, cyclopts.Parameter(help="Only letters stored at or after this ISO datetime.")]
Until = Annotated[str | None, cyclopts.Parameter(help="Only letters stored before this ISO datetime.")]

dead_letters_app = cyclopts.App(
    name="dead-letters", help="Inspect, replay and purge the messages the workers could not apply."
)


@dead_letters_app.command(name="list")
def list_command(
    *,
    reason: Reason = None,
    topic: Topic = None,
    partition: Partition = None,
    since: Since = None,
    until: Until = None,
    limit: int = 100,
    json_output: JsonFlag = False,
) -> int:
    """List dead letters, oldest first.

    Parameters
    ----------
    limit
        At most this many letters (0: all).
    json_output
        Print a JSON summary on stdout.
    """
    out = Output(json_output)

    def job() -> int:
        flt = _filter((), reason, topic, partition, since, until)
        with open_store_engine() as engine:
            letters = list(matching_letters(engine, flt, limit=max(limit, 0)))
            total = engine.read(deadletters.count_dead_letters)
        for d in letters:
            when = datetime.fromtimestamp(d.at, UTC).isoformat(timespec="seconds")
            out.say(f"{d.id}  {when}  {d.topic}:{d.partition}@{d.offset}  {d.error_type}: {d.reason[:120]}")
        out.say(f"{len(letters)} listed ({total} stored).")
        out.summary({"ok": True, "total": total, "dead_letters": [_summary(d) for d in letters]})
        return EXIT_OK

    return _guarded(out, job)


@dead_letters_app.command(name="show")
def show_command(dead_letter_id: str, *, json_output: JsonFlag = False) -> int:
    """Print one dead letter: where it came from, its key, its error and its raw value.

    Parameters
    ----------
    dead_letter_id
        The id `list` printed.
    json_output
        Print it as JSON on stdout (key and value also base64).
    """
    out = Output(json_output)
    with open_store_engine() as engine:
        letter = engine.read(lambda tr: deadletters.get_dead_letter(tr, dead_letter_id))
    if letter is None:
        out.error(f"No dead letter {dead_letter_id!r}.")
        out.summary({"ok": False, "error": "not found"})
        return EXIT_FAILURE
    full = _full(letter)
    for name in ("id", "topic", "partition", "offset", "key", "at", "error_type", "reason", "truncated"):
        out.say(f"{name}: {full[name]}")
    out.say(f"value ({letter.value_size} bytes):")
    out.say(full["value"] if full["value"] is not None else f"(base64) {full['value_base64']}")
    out.summary({"ok": True, "dead_letter": full})
    return EXIT_OK


def _remove(tr: Transaction, ids: list[str]) -> int:
    return sum(deadletters.remove_dead_letter(tr, i) for i in ids)


def _still_stored(tr: ReadTransaction, ids: list[str]) -> list[str]:
    return [i for i in ids if deadletters.get_dead_letter(tr, i) is not None]


def _wait_handled(engine: Engine, ids: list[str], timeout_s: float) -> tuple[list[str], list[str]]:
    """Poll until the worker removed the letters; ``(handled, still_pending)``."""
    deadline = time.monotonic() + timeout_s
    pending = list(ids)
    while pending:
        pending = engine.read(partial(_still_stored, ids=pending))
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(_POLL_S)
    return [i for i in ids if i not in pending], pending


def _failed_again(engine: Engine, replayed: list[DeadLetter]) -> list[DeadLetter]:
    """The new letters left by replays that failed again (same topic, partition and offset)."""
    where = {(d.topic, d.partition, d.offset): d.id for d in replayed}
    return [
        d
        for d in matching_letters(engine, LetterFilter())
        if (d.topic, d.partition, d.offset) in where and d.id != where[(d.topic, d.partition, d.offset)]
    ]


@dead_letters_app.command(name="replay")
def replay_command(
    *ids: str,
    reason: Reason = None,
    topic: Topic = None,
    partition: Partition = None,
    since: Since = None,
    until: Until = None,
    wait: float = 0.0,
    json_output: JsonFlag = False,
) -> int:
    """Ask the ingest worker to apply the chosen letters again, each exactly once.

    The worker consuming a letter's partition applies it through its normal path and removes the letter
    in the same transaction; a letter that fails again is replaced by one carrying the new error.
    Truncated letters (their value was cut to fit the store) are not replayed. Give ids, filters, or
    both; with neither, nothing is chosen.

    Parameters
    ----------
    ids
        Dead letter ids (as `list` prints them).
    wait
        Seconds to wait for the worker to handle the letters; exit code 1 if some are still pending
        or failed again.
    json_output
        Print a JSON summary on stdout.
    """
    out = Output(json_output)

    def job() -> int:
        if not ids and all(v is None for v in (reason, topic, partition, since, until)):
            raise UsageError("give dead letter ids or at least one filter")
        flt = _filter(tuple(ids), reason, topic, partition, since, until)
        with open_store_engine() as engine:
            chosen = list(matching_letters(engine, flt))
            replayable = [d for d in chosen if not d.truncated]
            skipped = [d.id for d in chosen if d.truncated]

            def request(tr: Transaction) -> list[str]:
                return [d.id for d in replayable if deadletters.request_replay(tr, d.id)]

            requested = engine.transact(request)
            out.say(f"Requested the replay of {len(requested)} dead letter(s).")
            for i in skipped:
                out.say(f"  {i}: truncated, not replayed")
            summary: dict[str, Any] = {"ok": True, "requested": requested, "skipped_truncated": skipped}
            code = EXIT_OK
            if wait > 0 and requested:
                handled, pending = _wait_handled(engine, requested, wait)
                again = _failed_again(engine, [d for d in replayable if d.id in handled])
                out.say(
                    f"{len(handled) - len(again)} applied, {len(again)} failed again, {len(pending)} pending."
                )
                for d in again:
                    out.say(f"  {d.id}: {d.error_type}: {d.reason[:200]}")
                summary.update(
                    pending=pending,
                    failed_again=[_summary(d) for d in again],
                    applied=len(handled) - len(again),
                )
                if pending or again:
                    code = EXIT_FAILURE
        out.summary(summary)
        return code

    return _guarded(out, job)


@dead_letters_app.command(name="purge")
def purge_command(
    *ids: str,
    reason: Reason = None,
    topic: Topic = None,
    partition: Partition = None,
    since: Since = None,
    until: Until = None,
    yes: Annotated[bool, cyclopts.Parameter(negative="")] = False,
    json_output: JsonFlag = False,
) -> int:
    """Delete the chosen dead letters; a dry run unless --yes is given.

    Parameters
    ----------
    ids
        Dead letter ids (as `list` prints them); with no ids and no filters, every letter is chosen.
    yes
        Really delete (default: only report what would be deleted).
    json_output
        Print a JSON summary on stdout.
    """
    out = Output(json_output)

    def job() -> int:
        flt = _filter(tuple(ids), reason, topic, partition, since, until)
        with open_store_engine() as engine:
            chosen = [d.id for d in matching_letters(engine, flt)]
            deleted = 0
            if yes:
                for begin in range(0, len(chosen), _PAGE):
                    page = chosen[begin : begin + _PAGE]
                    deleted += engine.transact(partial(_remove, ids=page))
        if yes:
            out.say(f"Deleted {deleted} dead letter(s).")
        else:
            out.say(f"Would delete {len(chosen)} dead letter(s); run again with --yes to delete them.")
        out.summary(
            {"ok": True, "dry_run": not yes, "matched": len(chosen), "deleted": deleted, "ids": chosen}
        )
        return EXIT_OK

    return _guarded(out, job)
