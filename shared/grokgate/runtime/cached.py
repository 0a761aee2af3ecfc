"""``cached``: a factory method whose value is built once per object and then reused.

The one way the composition root builds something lazily. An ``async def`` builder runs under
a lock of its own (one per cached value and object), so concurrent first callers build it once
and the others wait for it; a builder that awaits another cached value takes that one's lock,
not a shared one, so builders can depend on each other. A plain ``def`` builder needs no lock
(nothing else runs on the event loop while it does). A builder that raises caches nothing: the
next call builds again.

The value lives in the object's ``__dict__`` under ``_<name>``; :meth:`cached.peek`,
:meth:`cached.put` and :meth:`cached.forget` read, set and drop it (closing, tests). The
descriptor defines no ``__set__``, so an instance attribute of the method's own name shadows
it (a test double).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

Owner = TypeVar("Owner")
R = TypeVar("R")

_MISSING: Any = object()


class cached(Generic[Owner, R]):  # lower case: a decorator, like functools.cached_property
    """``@cached`` on a factory method: ``obj.name()`` builds once, then returns the same
    value (for ``async def``: awaits the build once, under the value's own lock)."""

    def __init__(self, build: Callable[[Owner], R]) -> None:
        self.build = build
        self.is_async = inspect.iscoroutinefunction(build)
        self.name = build.__name__
        self.slot = f"_{self.name}"
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.slot = name, f"_{name}"

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> cached[Owner, R]: ...
    @overload
    def __get__(self, obj: Owner, owner: type | None = None) -> Callable[[], R]: ...
    def __get__(self, obj: Owner | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        if self.is_async:

            async def get_async() -> Any:
                return await self._get_async(obj)

            return get_async

        def get() -> R:
            return self._get(obj)

        return get

    def _get(self, obj: Owner) -> R:
        state = vars(obj)
        value = state.get(self.slot, _MISSING)
        if value is _MISSING:
            value = state[self.slot] = self.build(obj)
        return value  # type: ignore[no-any-return]

    async def _get_async(self, obj: Owner) -> Any:
        state = vars(obj)
        value = state.get(self.slot, _MISSING)
        if value is not _MISSING:
            return value
        lock: asyncio.Lock = state.setdefault(f"{self.slot}_lock", asyncio.Lock())
        async with lock:
            value = state.get(self.slot, _MISSING)
            if value is _MISSING:
                value = state[self.slot] = await self.build(obj)  # type: ignore[misc]
        return value

    def peek(self, obj: Owner) -> Any:
        """The value if it was built, else None (never builds)."""
        return vars(obj).get(self.slot)

    def put(self, obj: Owner, value: Any) -> None:
        """Use ``value`` as the built value (a store a test opened itself, say)."""
        vars(obj)[self.slot] = value

    def forget(self, obj: Owner) -> Any:
        """Drop the value (the next call builds a new one); returns it, or None."""
        return vars(obj).pop(self.slot, None)
