"""« L'essentiel » of a record of 200 structured documents: time to first lines, time to
complete, and the longest pause of the UI thread (target: at most 50 ms).

Run on demand (not collected by pytest)::

    .venv/bin/python tests/bench/bench_essentials.py                  # 200 documents, 3 rounds
    .venv/bin/python tests/bench/bench_essentials.py --documents 400 --rounds 5

The real services and pane — ``ConsultationService``, ``EssentialsService`` (its
own worker thread), ``EssentialsPane`` shown offscreen — over an in-memory DMP
client (the network is measured elsewhere: bench_tls_download, bench_load): the
documents are CR-BIO, IPS-FR, LDL-SES and VAC-NOTE written by the demo's
producers (``dmp_actors.structured_documents``), dated over two years.

Each round, with an empty cache (a first visit):

1. the record opens: the list arrives, « L'essentiel » says 200 documents are unread;
2. « Charger les documents structurés »: the measure starts; **first lines** is when
   the pane first shows lines, **complete** when the load has ended and its last
   lines are shown;
3. the next visit (the record opened again, everything from the encrypted cache):
   **from cache** is from the list's arrival to the lines on screen.

Meanwhile a timer ticks every 5 ms on the UI thread: the longest gap between two
ticks, minus 5 ms, is the longest time the UI thread could not react.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.bench.bench_window import Ticks  # noqa: E402
from tests.bench.support import load_average  # noqa: E402


def record(count: int) -> list[tuple[object, bytes]]:
    """``count`` structured documents of one patient (entry, content), over two years."""
    from dmp_actors.structured_documents import FORMATS, lea_structured
    from dmp_desktop.domain.document import Code
    from tests.ui.consultation_fakes import AUTHORISED, entry
    from tests.unit.test_structured_documents import PATIENT, PROVIDERS

    out: list[tuple[object, bytes]] = []
    today = dt.date.today()
    shift = 0
    while len(out) < count:
        now = dt.datetime.now(dt.UTC) - dt.timedelta(days=shift)
        docs = lea_structured(
            PATIENT,
            PROVIDERS,
            now,
            lambda key, s=shift: f"1.2.250.1.999.8.{s}.{abs(hash(key)) % 997}",
        )
        for doc in docs:
            if len(out) >= count:
                break
            days = doc.days_ago + shift
            if days >= 720:  # the list's default two years
                continue
            code, scheme, display = FORMATS[doc.kind]
            listed = dataclasses.replace(
                entry(
                    f"1.2.250.1.999.8.{len(out) + 1}",
                    doc.title,
                    ins=AUTHORISED,
                    days_ago=days,
                    today=today,
                ),
                format_code=Code(code, display, scheme),
            )
            out.append((listed, doc.content))
        shift += 11
    return out


def _burn(seconds: float) -> None:
    """Another process computing for ``seconds`` (lower priority, as the reading process)."""
    import os as _os

    _os.nice(10)
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += sum(i * i for i in range(1000))


def wait_for(app: object, done: object, timeout: float = 300.0) -> None:
    """Run the event loop (idle between events, as the window's) until ``done()``."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.perf_counter() + timeout
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(10)

    def check() -> None:
        if done() or time.perf_counter() > deadline:  # type: ignore[operator]
            loop.quit()

    timer.timeout.connect(check)
    timer.start()
    if not done():  # type: ignore[operator]
        loop.exec()
    timer.stop()
    if not done():  # type: ignore[operator]
        raise TimeoutError("no answer")


@dataclasses.dataclass
class Round:
    first: float
    complete: float
    stall_load: float
    from_cache: float
    stall_cache: float
    lines: int
    idle: float  # the longest pause with nothing to do: this machine's noise
    busy: float  # the same beside another process busy computing (the reading process's part)
    ui_cpu: float  # processor time of the UI thread while loading
    slot: float  # the longest time the UI thread spent showing lines (the pane's own work)


def one_round(documents: list[tuple[object, bytes]], data_dir: Path) -> Round:
    from PySide6.QtWidgets import QApplication

    from dmp_desktop.app import settle_heap
    from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
    from dmp_desktop.services.consultation import ConsultationService
    from dmp_desktop.services.dmp_service import DmpService
    from dmp_desktop.services.essentials import EssentialsService
    from dmp_desktop.services.operations import OperationRunner
    from dmp_desktop.ui.essentials_model import translated_phrases
    from dmp_desktop.ui.essentials_pane import EssentialsPane
    from tests.ui.consultation_fakes import AUTHORISED, ConsultationDmp
    from tests.ui.fakes import DURAND, ui_settings

    app = QApplication.instance() or QApplication([])
    settings = dataclasses.replace(ui_settings(), data_dir=str(data_dir))
    fake = ConsultationDmp()
    fake.patients[AUTHORISED.value].documents.clear()
    for listed, content in documents:
        fake.add(AUTHORISED, listed, content)  # type: ignore[arg-type]
    runner = OperationRunner()
    dmp = DmpService(settings, runner, fake.factory)
    consultation = ConsultationService(settings, dmp)
    service = EssentialsService(settings, consultation, dmp, phrases=translated_phrases)
    pane = EssentialsPane(service)
    pane.resize(1100, 700)
    pane.show()
    # As the application does once its window is built (dmp_desktop.app.settle_heap):
    # what lives as long as the window stays out of the collector's full passes.
    settle_heap()
    slots: list[float] = []
    show_view = pane.show_view

    def timed_show(view: object) -> None:
        start = time.perf_counter()
        show_view(view)  # type: ignore[arg-type]
        slots.append(time.perf_counter() - start)

    service.essentialsReady.disconnect(pane.show_view)
    service.essentialsReady.connect(timed_show)
    status = DmpStatus(AUTHORISED, DmpState.ACTIVE, Authorization.VALIDE, treating_physician=True)
    shown: list[tuple[float, int]] = []
    service.essentialsReady.connect(
        lambda view: shown.append((time.perf_counter(), len(view.essentials.lines)))
    )
    ticks = Ticks()

    def open_record() -> None:
        consultation.set_practitioner(DURAND)
        dmp.start(object())
        consultation.show_status(status)

    # 1. the record opens: nothing read yet
    shown.clear()
    open_record()
    wait_for(app, lambda: service.view is not None and not service.building)
    assert service.view is not None and service.view.unread == len(documents), service.view
    # the machine's own noise: the probe with nothing to do, then beside a busy process
    ticks.start()
    idle_until = time.perf_counter() + 2.0
    wait_for(app, lambda: time.perf_counter() > idle_until)
    idle = ticks.stop()
    burner = multiprocessing.get_context("spawn").Process(target=_burn, args=(3.0,))
    burner.start()
    ticks.start()
    busy_until = time.perf_counter() + 3.0
    wait_for(app, lambda: time.perf_counter() > busy_until)
    busy = ticks.stop()
    burner.join()
    # 2. « Charger les documents structurés »
    shown.clear()
    ticks.start()
    start = time.perf_counter()
    cpu_start = time.thread_time()
    assert service.load_structured()
    wait_for(app, lambda: not service.loading)
    wait_for(app, lambda: not service.building)
    stall_load = ticks.stop()
    ui_cpu = time.thread_time() - cpu_start
    first = next(t for t, n in shown if n) - start
    complete = shown[-1][0] - start
    lines = shown[-1][1]
    assert service.view is not None and service.view.unread == 0
    service.clear()  # saves the cache (in the worker)
    consultation.close_patient()
    dmp.stop(wait=True)
    wait_for(app, lambda: not service.building)
    time.sleep(0.5)  # let the save end
    # 3. the next visit: the cache
    service.shutdown()
    service = EssentialsService(settings, consultation, dmp, phrases=translated_phrases)
    service.essentialsReady.connect(timed_show)
    shown.clear()
    service.essentialsReady.connect(
        lambda view: shown.append((time.perf_counter(), len(view.essentials.lines)))
    )
    ticks.start()
    listed: list[float] = []
    consultation.documentsReady.connect(lambda _l: listed.append(time.perf_counter()))
    open_record()
    wait_for(app, lambda: any(n for _, n in shown))
    stall_cache = ticks.stop()
    from_cache = next(t for t, n in shown if n) - listed[0]
    service.shutdown()
    dmp.stop(wait=True)
    runner.shutdown(wait=True)
    pane.close()
    slot = max(slots)
    return Round(
        first, complete, stall_load, from_cache, stall_cache, lines, idle, busy, ui_cpu, slot
    )


def parse_only(documents: list[tuple[object, bytes]]) -> tuple[float, float]:
    """Seconds to read every document, and to aggregate them once (no Qt)."""
    from dmp_desktop.essentials.aggregate import build
    from dmp_desktop.essentials.reading import read_document
    from dmp_desktop.usecases.essentials import source_of

    start = time.perf_counter()
    facts = [read_document(content, source_of(e)) for e, content in documents]  # type: ignore[arg-type]
    read = time.perf_counter() - start
    start = time.perf_counter()
    build(facts)
    return read, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {load_average()}")
    documents = record(args.documents)
    kinds: dict[str, int] = {}
    for listed, _ in documents:
        title = listed.title  # type: ignore[attr-defined]
        kinds[title] = kinds.get(title, 0) + 1
    size = sum(len(c) for _, c in documents)
    print(f"{len(documents)} structured documents, {size / 1e6:.1f} MB: {kinds}")
    read, aggregate = parse_only(documents)
    print(f"reading all (one thread, no Qt): {read:.2f} s; aggregating: {aggregate * 1000:.0f} ms")
    rounds = []
    for n in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-essentials-") as tmp:
            r = one_round(documents, Path(tmp))
        rounds.append(r)
        print(
            f"round {n + 1}: first lines {r.first:.2f} s, complete {r.complete:.2f} s, "
            f"UI-thread longest pause {r.stall_load * 1000:.0f} ms; next visit from cache "
            f"{r.from_cache:.2f} s (pause {r.stall_cache * 1000:.0f} ms); {r.lines} lines; "
            f"idle pause {r.idle * 1000:.0f} ms, beside a busy process {r.busy * 1000:.0f} ms; "
            f"longest show_view {r.slot * 1000:.0f} ms; "
            f"UI thread CPU while loading {r.ui_cpu:.2f} s"
        )

    def med(values: list[float]) -> float:
        return statistics.median(values)

    first = med([r.first for r in rounds])
    complete = med([r.complete for r in rounds])
    pause = med([r.stall_load for r in rounds]) * 1000
    worst = max(r.stall_load for r in rounds) * 1000
    cache = med([r.from_cache for r in rounds])
    cache_pause = med([r.stall_cache for r in rounds]) * 1000
    cache_worst = max(r.stall_cache for r in rounds) * 1000
    print(
        f"median: first lines {first:.2f} s, complete {complete:.2f} s, longest pause "
        f"{pause:.0f} ms (max {worst:.0f}); from cache {cache:.2f} s, pause {cache_pause:.0f} ms "
        f"(max {cache_worst:.0f})"
    )
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
