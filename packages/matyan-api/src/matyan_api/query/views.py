"""The objects a query sees: ``run``, and ``metric`` (or ``images``, ``texts``...).

See docs/http-contract.md, Query language.

They are plain, store-independent views over data a route has already read. Public attributes are the
query language's fields and nothing else: on :class:`RunView` any other attribute name means the run's
attribute tree (``run.hparams.lr``), so a helper method here would shadow a user's attribute. Internals
therefore live in underscore slots, which the sandbox never lets a query reach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AttrProxy",
    "MetricsView",
    "RunView",
    "SequenceView",
    "TagsView",
    "TraceInfo",
    "wrap_attr",
]


def wrap_attr(value: Any) -> Any:
    """Dicts become :class:`AttrProxy` (so ``.key`` works); everything else is returned as is."""
    if isinstance(value, Mapping):
        return AttrProxy(value)
    return value


class AttrProxy:
    """A read-only view of a nested dict: ``.key`` and ``["key"]`` (``None`` when missing), ``in``, ``==``."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[Any, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return wrap_attr(self._data.get(name))

    def __getitem__(self, key: Any) -> Any:
        return wrap_attr(self._data.get(key))

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __bool__(self) -> bool:
        return bool(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AttrProxy):
            return dict(self._data) == dict(other._data)
        if isinstance(other, Mapping):
            return dict(self._data) == dict(other)
        return False

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(dict(self._data))


class TagsView:
    """The run's tag names: ``"x" in run.tags``, ``run.tags.contains("x")``, ``len``, iteration."""

    __slots__ = ("_names",)

    def __init__(self, names: Iterable[str]) -> None:
        self._names = tuple(names)

    def contains(self, name: str) -> bool:
        """Whether the run carries the tag called ``name``."""
        return name in self._names

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, index: int) -> str:
        return self._names[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TagsView):
            return self._names == other._names
        if isinstance(other, list | tuple | set | frozenset):
            return sorted(self._names) == sorted(other)
        return False

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self._names))


@dataclass(frozen=True, slots=True)
class TraceInfo:
    """What a query may ask about one sequence without reading its points (its stored summary)."""

    name: str
    context: Mapping[str, Any] = field(default_factory=dict)
    dtype: str = "float"
    last: Any = None
    last_step: int | None = None
    first_step: int | None = None
    min: float | None = None
    max: float | None = None
    count: int = 0
    context_id: int = 0
    """The stored id of ``context`` (``context_to_id``; 0 is the empty context's): no need to hash it."""


class _MissingTrace:
    """``run.metrics["absent"]``: falsy, and every field is ``None``."""

    __slots__ = ()
    name = None
    context = None
    last = None
    last_step = None
    min = None
    max = None

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<no such metric>"


_MISSING = _MissingTrace()


class MetricsView:
    """``run.metrics["loss"]`` or ``run.metrics["loss", {"subset": "train"}]``, then ``.last``..."""

    __slots__ = ("_traces",)

    def __init__(self, traces: Sequence[TraceInfo]) -> None:
        self._traces = traces

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, tuple) and len(key) == 2:
            name, context = key
            want = dict(context) if isinstance(context, Mapping | AttrProxy) else context
            for trace in self._traces:
                if trace.name == name and dict(trace.context) == want:
                    return _TraceRef(trace)
            return _MISSING
        # Without a context: the trace in the empty context, else the first one with that name.
        named = [t for t in self._traces if t.name == key]
        for trace in named:
            if not trace.context:
                return _TraceRef(trace)
        return _TraceRef(named[0]) if named else _MISSING

    def __contains__(self, name: object) -> bool:
        return any(t.name == name for t in self._traces)

    def __len__(self) -> int:
        return len(self._traces)


class _TraceRef:
    """One trace's summary fields as attributes (truthy)."""

    __slots__ = ("_trace",)

    def __init__(self, trace: TraceInfo) -> None:
        self._trace = trace

    name = property(lambda self: self._trace.name)
    context = property(lambda self: AttrProxy(self._trace.context))
    last = property(lambda self: self._trace.last)
    last_step = property(lambda self: self._trace.last_step)
    min = property(lambda self: self._trace.min)
    max = property(lambda self: self._trace.max)

    def __bool__(self) -> bool:
        return True


type TracesSource = Sequence[TraceInfo] | Callable[[], Sequence[TraceInfo]]


class RunView:
    """``run`` in a query: the meta fields by name, and the attribute tree for every other name."""

    __slots__ = ("_attrs", "_experiment", "_hash", "_meta", "_tags", "_traces")

    def __init__(
        self,
        run_hash: str,
        meta: Mapping[str, Any],
        attrs: Mapping[str, Any] | None = None,
        tags: Iterable[str] = (),
        experiment: str | None = None,
        traces: TracesSource = (),
    ) -> None:
        """``meta`` holds the RunMeta fields (name, description, created_at, finalized_at, active...).

        ``traces`` may be a loader called on first use of ``run.metrics``, so run-only queries never
        read trace summaries.
        """
        self._hash = run_hash
        self._meta = meta
        self._attrs: Mapping[str, Any] = attrs or {}
        self._tags = TagsView(tags)
        self._experiment = experiment
        self._traces = traces

    @property
    def hash(self) -> str:
        return self._hash

    @property
    def name(self) -> Any:
        return self._meta.get("name")

    @property
    def description(self) -> Any:
        return self._meta.get("description")

    @property
    def experiment(self) -> str | None:
        return self._experiment

    @property
    def tags(self) -> TagsView:
        return self._tags

    @property
    def created_at(self) -> float:
        return float(self._meta.get("created_at") or 0.0)

    @property
    def creation_time(self) -> float:
        return self.created_at

    @property
    def end_time(self) -> float | None:
        end = self._meta.get("finalized_at")
        return None if end is None else float(end)

    @property
    def duration(self) -> float:
        end = self.end_time
        return 0.0 if end is None else end - self.created_at

    @property
    def active(self) -> bool:
        return bool(self._meta.get("active", False))

    @property
    def archived(self) -> bool:
        return bool(self._meta.get("archived", False))

    @property
    def is_archived(self) -> bool:
        return self.archived

    @property
    def metrics(self) -> MetricsView:
        if callable(self._traces):
            self._traces = self._traces()
        return MetricsView(self._traces)

    def __getitem__(self, key: Any) -> Any:
        return wrap_attr(self._attrs.get(key))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return wrap_attr(self._attrs.get(name))

    def __repr__(self) -> str:
        return f"<run {self._hash}>"


class SequenceView:
    """``metric`` (or ``images``, ``texts``...) in a query: one sequence of a run."""

    __slots__ = ("_info", "_run")

    def __init__(self, info: TraceInfo, run: RunView) -> None:
        self._info = info
        self._run = run

    @property
    def name(self) -> str:
        return self._info.name

    @property
    def context(self) -> AttrProxy:
        return AttrProxy(self._info.context)

    @property
    def last(self) -> Any:
        return self._info.last

    @property
    def last_step(self) -> int | None:
        return self._info.last_step

    @property
    def first_step(self) -> int | None:
        return self._info.first_step

    @property
    def min(self) -> float | None:
        return self._info.min

    @property
    def max(self) -> float | None:
        return self._info.max

    @property
    def dtype(self) -> str:
        return self._info.dtype

    @property
    def run(self) -> RunView:
        return self._run

    def __repr__(self) -> str:
        return f"<sequence {self._info.name} {dict(self._info.context)!r}>"
