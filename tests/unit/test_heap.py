"""The collector and long lists (dmp_desktop.heap): what a list builds is moved out of the
collector's passes once it survives one, and is still freed by reference counting alone."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from dmp_desktop import heap
from dmp_desktop.dmp import xds
from dmp_desktop.domain.document import DocumentEntry
from tests.support.big_answer import find_documents_answer


@pytest.fixture(autouse=True)
def collector() -> Iterator[None]:
    """A collector as the test found it: enabled, nothing frozen, no callback of ours."""
    gc.collect()
    gc.unfreeze()
    callbacks = list(gc.callbacks)
    yield
    gc.enable()
    gc.unfreeze()
    assert gc.callbacks == callbacks  # the block took its callback away


class Node:
    def __init__(self) -> None:
        self.children: list[Node] = []


def tracked(kind: type) -> int:
    """Objects of ``kind`` the collector's passes would walk (frozen ones are not listed)."""
    return sum(1 for obj in gc.get_objects() if type(obj) is kind)


def test_survivors_of_a_pass_made_in_the_block_leave_the_collector() -> None:
    gc.disable()  # passes only when the test asks (a callback runs for those too)
    with heap.kept_out_of_collection():
        kept = [Node() for _ in range(1000)]
        assert tracked(Node) == 1000
        gc.collect(0)  # a pass while the block runs: its survivors are frozen
        assert tracked(Node) == 0
        frozen = gc.get_freeze_count()
        assert frozen >= 2000  # the nodes and their lists (and whatever else lived)
    del kept  # still freed by reference counting
    assert gc.get_freeze_count() <= frozen - 2000


def test_outside_a_block_a_pass_freezes_nothing() -> None:
    gc.disable()
    kept = [Node() for _ in range(1000)]
    gc.collect(0)
    assert tracked(Node) == 1000 and gc.get_freeze_count() == 0
    del kept


def test_blocks_in_two_threads_share_one_callback() -> None:
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with heap.kept_out_of_collection():
            inside.set()
            leave.wait(10)

    gc.disable()
    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(10)
    with heap.kept_out_of_collection():
        leave.set()
        thread.join(10)
        kept = [Node() for _ in range(100)]
        gc.collect(0)  # the other block ended: this one still freezes
        assert tracked(Node) == 0
    del kept


def test_a_list_s_entries_hold_no_reference_cycle() -> None:
    # Frozen entries are never walked again by the collector: were they in a cycle, the
    # list of a closed record would stay in memory. Reference counting alone frees them.
    answer = find_documents_answer(300, relates_to="urn:uuid:0")
    gc.disable()
    before = tracked(DocumentEntry)  # other tests' entries, if any
    entries = xds.read_find_documents(answer).entries
    assert len(entries) == 300 and tracked(DocumentEntry) == before + 300
    del entries
    assert tracked(DocumentEntry) == before  # no pass ran: freed by reference counting


def test_the_window_tells_structured_entries_without_the_use_case() -> None:
    # The window's process sorts a list's entries for « L'essentiel » (only structured ones
    # go to its worker process); the rule's home must not pull in the use case, its CDA
    # reader and pydantic (150 ms of imports holding the interpreter lock, a UI pause).
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import dmp_desktop.services.essentials\n"
        "from dmp_desktop.essentials.structured import is_structured\n"
        "heavy = [m for m in ('dmp_desktop.usecases.essentials', 'pydantic')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
