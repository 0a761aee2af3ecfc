"""``cached``, the one way the composition root builds something lazily: once per object,
once under concurrent first callers, again after a failed build, builders that depend on each
other without a deadlock, and the value readable, settable and droppable without building."""

from __future__ import annotations

import asyncio

import pytest

from grokgate.runtime.cached import cached


class Parts:
    def __init__(self, fail_first: bool = False) -> None:
        self.builds: list[str] = []
        self.fail_first = fail_first

    @cached
    async def base(self) -> str:
        self.builds.append("base")
        await asyncio.sleep(0.01)  # a window in which a second caller could slip in
        if self.fail_first and self.builds.count("base") == 1:
            raise RuntimeError("first build fails")
        return "base"

    @cached
    async def derived(self) -> str:
        value = await self.base()  # the base's lock, not a shared one: no deadlock
        self.builds.append("derived")
        return f"{value}+derived"

    @cached
    def plain(self) -> list[str]:
        self.builds.append("plain")
        return ["plain"]


async def test_one_build_under_concurrent_first_callers() -> None:
    parts = Parts()
    values = await asyncio.gather(*(parts.derived() for _ in range(20)))
    assert set(values) == {"base+derived"}
    assert parts.builds == ["base", "derived"]
    assert await parts.base() == "base" and parts.builds == ["base", "derived"]


async def test_each_object_has_its_own_value() -> None:
    a, b = Parts(), Parts()
    assert await a.base() == await b.base()
    assert a.builds == b.builds == ["base"]
    assert a.plain() is a.plain() and a.plain() is not b.plain()


async def test_a_failed_build_caches_nothing() -> None:
    parts = Parts(fail_first=True)
    with pytest.raises(RuntimeError):
        await parts.base()
    assert Parts.base.peek(parts) is None
    assert await parts.base() == "base"
    assert parts.builds == ["base", "base"]


async def test_peek_put_forget() -> None:
    parts = Parts()
    assert Parts.plain.peek(parts) is None and parts.builds == []  # peek never builds
    Parts.base.put(parts, "given")
    assert await parts.base() == "given" and parts.builds == []
    assert Parts.base.forget(parts) == "given"
    assert await parts.base() == "base" and parts.builds == ["base"]


async def test_an_instance_attribute_shadows_the_factory() -> None:
    parts = Parts()

    async def double() -> str:
        return "double"

    parts.__dict__["base"] = double
    assert await parts.derived() == "double+derived"
