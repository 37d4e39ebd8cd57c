"""Why the UI thread paused: a timeline of its gaps, the collector's passes and its slots.

Used by ``bench_window.py --why`` (run on demand, not collected by pytest). A
timer ticks on the UI thread; every gap longer than ``threshold`` is kept with
the UI thread's own CPU time during it (``time.thread_time``: near the gap's
length, the UI thread itself was busy) and its time waiting for a processor
(``/proc/thread-self/schedstat``: the machine's other work); what is left, it
was blocked — on the GIL held by another thread, say. Alongside: every pass of the cyclic garbage
collector (``gc.callbacks``: generation, duration, thread, objects collected) and
the spans of the UI-thread functions named in ``wrap`` (plain wrappers, their
own time). A sampler thread records where each thread's Python code is, every
millisecond it gets the GIL. :meth:`PauseTrace.explain` prints what overlapped
a gap.
"""

from __future__ import annotations

import functools
import gc
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _run_queue_wait() -> float:
    """Seconds the calling thread has spent ready to run, waiting for a processor."""
    try:
        with open("/proc/thread-self/schedstat") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return -1.0


@dataclass
class Gap:
    start: float
    end: float
    ui_cpu: float  # the UI thread's CPU time during the gap
    ui_waiting: float  # its time ready to run but waiting for a processor (Linux), else -1

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass
class Span:
    name: str
    start: float
    end: float
    thread: str
    detail: str = ""


@dataclass
class PauseTrace:
    threshold: float = 0.02
    gaps: list[Gap] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    samples: list[tuple[float, dict[str, str]]] = field(default_factory=list)
    _gc_start: dict[int, float] = field(default_factory=dict)
    _last: float = 0.0
    _last_cpu: float = 0.0
    _last_wait: float = 0.0
    _sampling: bool = False

    # -- the UI thread's ticks ----------------------------------------------------------
    def tick(self) -> None:
        now, cpu, waiting = time.perf_counter(), time.thread_time(), _run_queue_wait()
        if self._last and now - self._last > self.threshold:
            self.gaps.append(
                Gap(
                    self._last,
                    now,
                    cpu - self._last_cpu,
                    waiting - self._last_wait if waiting >= 0 else -1.0,
                )
            )
        self._last, self._last_cpu, self._last_wait = now, cpu, waiting

    def reset(self) -> None:
        """Start again from now (the UI thread's clock too)."""
        self.gaps.clear()
        self.spans.clear()
        self.samples.clear()
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self._last_wait = _run_queue_wait()

    # -- the collector ------------------------------------------------------------------
    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        ident = threading.get_ident()
        if phase == "start":
            self._gc_start[ident] = time.perf_counter()
            return
        started = self._gc_start.pop(ident, None)
        if started is None:
            return
        self.spans.append(
            Span(
                f"gc gen {info['generation']}",
                started,
                time.perf_counter(),
                threading.current_thread().name,
                f"collected {info['collected']}",
            )
        )

    # -- functions ----------------------------------------------------------------------
    def wrap(self, owner: Any, name: str) -> None:
        original = getattr(owner, name)
        label = f"{getattr(owner, '__name__', owner)}.{name}"
        spans = self.spans

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spans.append(
                    Span(label, started, time.perf_counter(), threading.current_thread().name)
                )

        setattr(owner, name, wrapper)

    # -- the sampler --------------------------------------------------------------------
    def _sample(self) -> None:
        names = {}
        while self._sampling:
            frames = sys._current_frames()
            names = {t.ident: t.name for t in threading.enumerate()}
            me = threading.get_ident()
            where = {}
            for ident, frame in frames.items():
                if ident == me:
                    continue
                stack = []
                f: Any = frame
                while f is not None and len(stack) < 4:
                    code = f.f_code
                    stack.append(f"{code.co_name}:{f.f_lineno}")
                    f = f.f_back
                where[names.get(ident, str(ident))] = " < ".join(stack)
            self.samples.append((time.perf_counter(), where))
            time.sleep(0.001)

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self._sampling = True
        threading.Thread(target=self._sample, name="sampler", daemon=True).start()

    def stop(self) -> None:
        self._sampling = False
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    # -- the report ---------------------------------------------------------------------
    def collector_summary(self) -> str:
        """Passes of the collector per generation: count, longest, total (ms)."""
        parts = []
        for generation in range(3):
            passes = [s for s in self.spans if s.name == f"gc gen {generation}"]
            if passes:
                longest = max(s.end - s.start for s in passes)
                total = sum(s.end - s.start for s in passes)
                parts.append(
                    f"gen {generation}: {len(passes)} passes, longest {longest * 1000:.0f} ms, "
                    f"total {total * 1000:.0f} ms"
                )
        return "; ".join(parts) or "no pass"

    def explain(self, top: int = 3, out: Callable[[str], None] = print) -> None:
        out(f"    collector: {self.collector_summary()}")
        for gap in sorted(self.gaps, key=lambda g: g.length, reverse=True)[:top]:
            out(
                f"    gap {gap.length * 1000:.0f} ms (UI thread: on a processor "
                f"{gap.ui_cpu * 1000:.0f} ms, waiting for one {gap.ui_waiting * 1000:.0f} ms)"
            )
            for span in self.spans:
                if span.end > gap.start and span.start < gap.end:
                    out(
                        f"      {span.name} [{span.thread}] {span.detail} "
                        f"{(span.start - gap.start) * 1000:+.0f} ms, "
                        f"{(span.end - span.start) * 1000:.1f} ms"
                    )
            seen: dict[str, int] = {}
            for when, where in self.samples:
                if gap.start <= when <= gap.end:
                    for thread, stack in where.items():
                        key = f"{thread}: {stack}"
                        seen[key] = seen.get(key, 0) + 1
            for key, count in sorted(seen.items(), key=lambda kv: -kv[1])[:8]:
                out(f"      sampled x{count} {key}")
