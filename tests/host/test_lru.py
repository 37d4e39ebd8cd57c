"""The host's bounded caches (dmp_sandbox.lru): the least recently used key goes first."""

from __future__ import annotations

from dmp_sandbox.lru import Lru


def test_the_least_recently_used_key_is_dropped_first() -> None:
    cache: Lru[str] = Lru(2)
    cache.put(("a",), "A")
    cache.put(("b",), "B")
    assert cache.get(("a",)) == "A"  # "a" is now the most recently used
    cache.put(("c",), "C")
    assert len(cache) == 2
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) == "A" and cache.get(("c",)) == "C"


def test_a_key_put_again_is_replaced_and_clear_empties() -> None:
    cache: Lru[int] = Lru(3)
    cache.put((1,), 1)
    cache.put((1,), 2)
    assert len(cache) == 1 and cache.get((1,)) == 2
    cache.clear()
    assert len(cache) == 0 and cache.get((1,)) is None
