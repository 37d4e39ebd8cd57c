"""The workers' share of connections (dmp_sandbox.balance), without gunicorn.

The policy, and the shared table a worker reads before accepting: a worker
holding more than another lets it take the next connection; a row left by a
worker that died holds no one back. The workers themselves are in
tests/host/test_workers.py (real gunicorn workers, real connections).
"""

from __future__ import annotations

import multiprocessing

from dmp_sandbox.balance import Shares, may_accept


def test_a_worker_accepts_while_it_holds_no_more_than_any_other() -> None:
    assert may_accept(0, [])  # alone
    assert may_accept(3, [3, 4])  # a tie: either may take it
    assert not may_accept(4, [3])  # another holds fewer: it takes the next one
    assert not may_accept(25, [25, 24])


def test_the_shared_table_counts_each_workers_connections() -> None:
    shares = Shares(slots=4)
    mine = shares.claim()
    assert mine == 0
    assert shares.may_accept(mine)  # no other worker accepting yet
    shares.accepting(mine, True)

    # Another worker (a real, live process: it sleeps until we stop it) takes a row.
    ready = multiprocessing.get_context("fork").Event()
    stop = multiprocessing.get_context("fork").Event()

    def other_worker() -> None:
        slot = shares.claim()
        assert slot == 1
        shares.accepting(slot, True)
        ready.set()
        stop.wait(30)

    other = multiprocessing.get_context("fork").Process(target=other_worker)
    other.start()
    try:
        assert ready.wait(30)
        assert shares.may_accept(mine)  # 0 and 0
        shares.add(mine, 1)
        assert not shares.may_accept(mine)  # 1 against 0: the other worker's turn
        shares.add(mine, -1)
        assert shares.may_accept(mine)  # a connection closed: even again
    finally:
        stop.set()
        other.join(30)

    # Its worker is gone: its row holds no one back, and a new worker may take it.
    shares.add(mine, 5)
    assert shares.may_accept(mine)
    assert shares.claim() == 1


def test_a_worker_that_stops_gives_its_row_back() -> None:
    shares = Shares(slots=1)
    slot = shares.claim()
    assert slot == 0 and shares.claim() is None  # one row, taken by this live process
    shares.add(slot, 2)
    shares.release(slot)
    assert shares.count(slot) == 0 and shares.claim() == 0
