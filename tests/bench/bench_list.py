"""The list path: an ITI-18 answer of N entries -> the list model filled, against a bare lxml parse.

Run on demand (not collected by pytest)::

    .venv/bin/python tests/bench/bench_list.py                      # 2,000 and 20,000 entries
    .venv/bin/python tests/bench/bench_list.py --entries 2000 --rounds 9
    .venv/bin/python tests/bench/bench_list.py --no-memory          # time only

What is measured, side by side in the same process, round after round:

* project: ``DmpClient.query_documents`` (the app's client, made by
  ``connect.open_dmp`` with the CPS3 SoftHSM card, TLS 1.2 with tlslite-ng)
  asks a canned HTTPS host in another process for the patient's documents;
  the answer (N entries made of the CNAM's official ones, about 6.9 kB each)
  is received, parsed as it arrives and turned into entries, then the
  window's list page (``DocumentListPage``: model, proxy, table, filter
  combos) shows it, until it says the list is wholly filled. The connection
  is already open (the consultation's TD0.2 opened it), as in the window.
  The answer is read by the compiled reader when it was built (``setup.py``),
  in a thread of its own while the bytes arrive; ``DMP_DESKTOP_PURE_PYTHON=1``
  measures the pure-Python reading instead.
* reference: ``lxml.etree.fromstring`` of the same bytes, already in memory,
  from a settled C heap (the issue's reference: it pays for the memory its tree
  takes), and, reported beside it, into memory already mapped (« warm heap »:
  a first tree parsed, freed and merged just before, outside the timer).

Every run of either side starts from a settled C heap (``support.settle_allocator``,
outside the timers): otherwise the freeing a side leaves deferred (glibc merges a freed
tree's chunks at the next large allocation: 70-80 ms after 2,000 entries, 0.7-0.8 s after
20,000) is charged to the side that runs next.

Memory (``--memory``, the default): each side once more in a fresh process;
peak resident memory minus what the process held before. The reference
holds the answer's bytes and the tree (what receiving then parsing takes);
the project holds what streaming takes.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.bench.support import (  # noqa: E402
    RELATES_TO_PLACEHOLDER,
    canned_host,
    consolidate_allocator,
    interleave,
    load_average,
    peak_rss_mb,
    reset_peak_rss,
    rss_mb,
    settle_allocator,
    summary,
)

CARD, PIN = "CPS3-DURAND", "1234"


def write_answer(directory: Path, count: int) -> Path:
    from tests.support.big_answer import find_documents_answer

    path = directory / f"iti18-{count}.xml"
    if not path.exists():
        path.write_bytes(find_documents_answer(count, relates_to=RELATES_TO_PLACEHOLDER.decode()))
    return path


class ProjectPath:
    """The client and the list page, ready: one call = one list fetched and shown."""

    def __init__(self, env_root: Path, host_url: str, phases: Phases | None = None) -> None:
        from PySide6.QtWidgets import QApplication

        from dmp_desktop.connect import open_dmp
        from dmp_desktop.domain.patient import Ins, InsKind
        from dmp_desktop.settings import SOFTHSM_MODULE
        from dmp_desktop.smartcard import CardManager
        from dmp_desktop.ui.documents_pane import DocumentListPage
        from dmp_sandbox.training import TrainingEnv
        from tests.support.big_answer import OFFICIAL_INS

        self.phases = phases
        self.app = QApplication.instance() or QApplication([])
        env = TrainingEnv(env_root, port=0)
        settings = dataclasses.replace(env.client_settings(), host_url=host_url)
        self.manager = CardManager([SOFTHSM_MODULE])
        card = next(c for c in self.manager.list_cards() if c.token_label == CARD)
        self.session = self.manager.login(card, PIN)
        self.client = open_dmp(settings, self.session)
        self.ins = Ins(OFFICIAL_INS, InsKind.TEST_NIR)
        self.page = DocumentListPage()
        self.page.resize(1200, 700)
        self.page.show()
        self.app.processEvents()
        from dmp_desktop.app import settle_heap

        settle_heap()  # as the window does once built

    def run(self) -> float:
        from PySide6.QtCore import QEventLoop

        from dmp_desktop import heap
        from dmp_desktop.domain.document import DocumentQuery
        from dmp_desktop.services.consultation import DocumentList, ListScope, Period

        scope = ListScope(Period.ALL)
        if self.phases is not None:
            self.phases.start()
        started = time.perf_counter()
        with heap.kept_out_of_collection():  # as the consultation service fetches a list
            entries = self.client.find_documents(DocumentQuery(patient=self.ins))
        found = time.perf_counter() - started
        listing = DocumentList(
            ins=self.ins,
            entries=tuple(entries),
            new_ids=frozenset(),
            loaded_scope=scope,
            first_consultation=False,
            last_consultation=None,
        )
        loop = QEventLoop()
        self.page.filled.connect(loop.quit)
        self.page.show_scope(scope)
        self.page.show_list(listing)
        if self.page.filling:
            loop.exec()
        self.page.filled.disconnect(loop.quit)
        elapsed = time.perf_counter() - started
        if self.phases is not None:
            self.phases.stop(found, elapsed)
        shown = self.page.proxy.rowCount()
        if shown != len(entries):
            raise RuntimeError(f"{shown} rows shown for {len(entries)} entries")
        return elapsed

    def reset(self) -> None:
        """Between two runs, outside the measure: the page empty, memory returned."""
        self.page.clear()
        self.page.settle()  # the list let go is freed in the page's worker: wait for it
        self.app.processEvents()
        gc.collect()
        settle_allocator()

    def close(self) -> None:
        self.client.close()
        self.session.close()
        self.manager.close()


class Phases:
    """Where the list path's time goes (``--phases``): the steps timed from inside, each round.

    The compiled reader (``FindDocumentsReader._scan``: libxml2's SAX parser reading the
    entries into tuples, with the interpreter lock held), the rest of the answer through
    lxml (``StreamParser.feed``: the envelope, and an empty element in each entry's place;
    without the compiled reader, the whole answer), building the entries
    (``entry_from_projection``, and ``project_extrinsic_object`` without the compiled
    reader), releasing the parsed elements (``xmlsafe.release``), the rest of
    ``find_documents`` (receiving and decrypting, HTTP, envelope checks) and filling the
    page (after ``find_documents``). Timing adds a little overhead of its own (two clock
    reads per entry). With the compiled reader, its parse runs in a thread of its own
    while the next bytes are received (``client._FeedingThread``): « compiled read »
    then overlaps « receive », which is what is left of ``find_documents`` once every
    other step is taken away (it can even come out below the receiving's own cost).
    """

    def __init__(self) -> None:
        from dmp_desktop import xmlsafe
        from dmp_desktop.dmp import xds

        self.totals = {"compiled read": 0.0, "lxml": 0.0, "build": 0.0, "release": 0.0}
        self.rounds: list[dict[str, float]] = []
        totals = self.totals
        clock = time.perf_counter

        def timing(key: str, fn: Any) -> Any:
            def timed(*args: Any, **kwargs: Any) -> Any:
                started = clock()
                try:
                    return fn(*args, **kwargs)
                finally:
                    totals[key] += clock() - started

            return timed

        xds.FindDocumentsReader._scan = staticmethod(  # type: ignore[method-assign]
            timing("compiled read", xds.FindDocumentsReader._scan)
        )
        xmlsafe.StreamParser.feed = timing("lxml", xmlsafe.StreamParser.feed)  # type: ignore[method-assign]
        project = xds.project_extrinsic_object
        xds.entry_from_projection = timing("build", xds.entry_from_projection)
        xds.project_extrinsic_object = timing("build", project)
        xmlsafe.release = timing("release", xmlsafe.release)

    def start(self) -> None:
        for key in self.totals:
            self.totals[key] = 0.0

    def stop(self, find: float, whole: float) -> None:
        known = sum(self.totals.values())
        self.rounds.append(
            {**self.totals, "receive, HTTP, checks": find - known, "fill the page": whole - find}
        )

    def report(self, reference: float) -> str:
        lines = [f"  where the time goes (median of {len(self.rounds)} rounds; x = fromstring):"]
        for key in self.rounds[0]:
            values = sorted(r[key] for r in self.rounds)
            value = values[len(values) // 2]
            lines.append(f"    {key:<24} {value * 1000:8.1f} ms  {value / reference:5.2f}x")
        return "\n".join(lines)


# What settling the heap after each reference run took: glibc merging the freed tree's
# chunks, the cost the next run would otherwise pay (reported by measure_times).
DEFERRED_FREEING: list[float] = []


def reference_parse(data: bytes) -> float:
    """``fromstring`` from a settled heap (the issue's reference): it pays for its own memory."""
    from lxml import etree

    gc.collect()
    started = time.perf_counter()
    root = etree.fromstring(data)
    elapsed = time.perf_counter() - started
    del root
    DEFERRED_FREEING.append(settle_allocator())  # the tree's deferred freeing, untimed
    return elapsed


def reference_parse_warm(data: bytes) -> float:
    """``fromstring`` into memory already mapped: a first tree parsed and freed, merged, kept.

    The reference's best case (its memory neither faulted in nor merged while timed),
    reported beside the settled one.
    """
    from lxml import etree

    root = etree.fromstring(data)
    del root
    consolidate_allocator()
    gc.collect()
    started = time.perf_counter()
    root = etree.fromstring(data)
    elapsed = time.perf_counter() - started
    del root
    settle_allocator()
    return elapsed


def measure_times(
    env_root: Path, pki: object, count: int, rounds: int, tmp: Path, phases: bool = False
) -> None:
    from dmp_desktop.dmp import xds

    path = write_answer(tmp, count)
    data = path.read_bytes()
    timing = Phases() if phases else None
    with canned_host(pki, {xds.ACTION_FIND: path}) as url:
        project = ProjectPath(env_root, url, timing)
        try:
            project.run()  # warm-up: opens the connection (handshake, card signature)
            project.reset()
            if timing is not None:
                timing.rounds.clear()

            def run_project() -> float:
                try:
                    return project.run()
                finally:
                    project.reset()

            settle_allocator()
            DEFERRED_FREEING.clear()
            series = interleave(
                {
                    "list path": run_project,
                    "lxml.etree.fromstring": lambda: reference_parse(data),
                    "fromstring, warm heap": lambda: reference_parse_warm(data),
                },
                rounds,
            )
        finally:
            project.close()
    mine, reference = series["list path"], series["lxml.etree.fromstring"]
    warm = series["fromstring, warm heap"]
    print(f"{count:,} entries ({len(data) / 1e6:.1f} MB), {rounds} interleaved rounds:")
    print("  " + summary(mine, reference))
    print("  " + summary(mine, warm))
    freeing = sorted(DEFERRED_FREEING)
    print(
        f"  deferred freeing of fromstring's tree (malloc_trim after it, outside the timers; "
        f"what the next run would pay): median {freeing[len(freeing) // 2] * 1000:.0f} ms"
    )
    if timing is not None:
        print(timing.report(sorted(reference.values)[len(reference.values) // 2]))
    print(
        "  list path runs: "
        + ", ".join(f"{v:.3f}" for v in mine.values)
        + " | fromstring runs: "
        + ", ".join(f"{v:.3f}" for v in reference.values)
        + " | warm: "
        + ", ".join(f"{v:.3f}" for v in warm.values)
    )


def measure_parsers(count: int, rounds: int, tmp: Path) -> None:
    """The bare parsers on the same answer, no handler (``--parsers``): why libxml2's SAX."""
    import xml.parsers.expat

    from lxml import etree

    data = write_answer(tmp, count).read_bytes()

    class NoTarget:  # lxml registers no SAX callback for what a target lacks
        def close(self) -> None:
            return None

    def timed_parse(parse: Any) -> float:
        gc.collect()
        started = time.perf_counter()
        parse()
        elapsed = time.perf_counter() - started
        settle_allocator()
        return elapsed

    series = interleave(
        {
            "expat, no handler": lambda: timed_parse(
                lambda: xml.parsers.expat.ParserCreate(namespace_separator=" ").Parse(data, True)
            ),
            "libxml2 SAX, no handler": lambda: timed_parse(
                lambda: etree.fromstring(data, etree.XMLParser(target=NoTarget()))
            ),
            "lxml.etree.fromstring": lambda: timed_parse(lambda: etree.fromstring(data)),
        },
        rounds,
    )
    print(f"{count:,} entries ({len(data) / 1e6:.1f} MB), bare parsers, {rounds} rounds:")
    for name, values in series.items():
        print(f"  {name}: min {values.minimum * 1000:.1f} ms, median {values.median * 1000:.1f} ms")


# --- memory, in fresh processes ---------------------------------------------------------------


def memory_child(side: str, env_root: Path, answer: Path, host_url: str) -> None:
    if side == "reference":
        from lxml import etree

        gc.collect()
        reset_peak_rss()
        before = rss_mb()
        data = answer.read_bytes()
        root = etree.fromstring(data)
        peak = peak_rss_mb()
        del root, data
    else:
        project = ProjectPath(env_root, host_url)
        gc.collect()
        reset_peak_rss()
        before = rss_mb()
        project.run()  # the first list of the process: everything it allocates counts
        peak = peak_rss_mb()
        project.close()
    print(json.dumps({"side": side, "before": before, "peak": peak}))


def measure_memory(env_root: Path, pki: object, count: int, tmp: Path, rounds: int) -> None:
    from dmp_desktop.dmp import xds

    path = write_answer(tmp, count)
    results: dict[str, list[float]] = {"project": [], "reference": []}
    with canned_host(pki, {xds.ACTION_FIND: path}) as url:
        for _ in range(rounds):
            for side in ("project", "reference"):
                out = (
                    subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--memory-child",
                            side,
                            str(env_root),
                            str(path),
                            url,
                        ],
                        check=True,
                        capture_output=True,
                        text=True,
                        env={**os.environ},
                    )
                    .stdout.strip()
                    .splitlines()[-1]
                )
                found = json.loads(out)
                results[side].append(found["peak"] - found["before"])
    project, reference = min(results["project"]), min(results["reference"])
    print(
        f"  peak memory added, {count:,} entries: list path {project:.0f} MB, "
        f"receive + lxml.etree.fromstring {reference:.0f} MB, ratio {project / reference:.2f} "
        f"(min of {rounds}; all: project {[round(v) for v in results['project']]}, "
        f"reference {[round(v) for v in results['reference']]})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--memory-rounds", type=int, default=2)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument(
        "--phases", action="store_true", help="also time the steps of the list path from inside"
    )
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument(
        "--parsers", action="store_true", help="only time the bare parsers (expat, libxml2 SAX)"
    )
    parser.add_argument("--memory-child", nargs=4, metavar=("SIDE", "ENV", "ANSWER", "URL"))
    args = parser.parse_args()
    if args.memory_child:
        side, env_root, answer, url = args.memory_child
        memory_child(side, Path(env_root), Path(answer), url)
        return 0
    print(f"{date.today()} load average {load_average()}, {os.cpu_count()} CPU")
    if args.parsers:
        with tempfile.TemporaryDirectory(prefix="dmp-bench-list-") as tmp:
            for count in args.entries:
                measure_parsers(count, args.rounds, Path(tmp))
        return 0
    with tempfile.TemporaryDirectory(prefix="dmp-bench-list-") as tmp:
        from dmp_sandbox.training import init_training_env

        env = init_training_env(Path(tmp) / "training", port=0)
        os.environ["SOFTHSM2_CONF"] = str(env.softhsm_conf)
        for count in args.entries:
            if not args.memory_only:
                measure_times(env.root, env.pki, count, args.rounds, Path(tmp), args.phases)
            if not args.no_memory:
                measure_memory(env.root, env.pki, count, Path(tmp), args.memory_rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
