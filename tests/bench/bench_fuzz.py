"""The long run of the fuzzing tests, and the 3 s latency against the real client.

Run on demand (not collected by pytest)::

    .venv/bin/python tests/bench/bench_fuzz.py                 # 2000 inputs per target
    .venv/bin/python tests/bench/bench_fuzz.py --examples 20000
    .venv/bin/python tests/bench/bench_fuzz.py --latency 3     # adds the latency measure

Fuzzing: the targets of ``tests/unit/test_fuzz_*.py`` run with
``DMP_FUZZ_EXAMPLES`` random (not derandomised) examples each; for each
target, the inputs tried, the time taken and the outcome (only typed errors
came out, or the first failing input). The normal test run uses a few dozen
derandomised examples per target instead.

Latency (``--latency S``): a training environment is created in a temporary
folder (test PKI, SoftHSM cards), the training host runs behind the fault
proxy, which delays every answer by S seconds; the real client (card-backed
TLS) asks for a DMP status with the default read timeout, then with a read
timeout below S. Results go to stdout as Markdown; docs/reliability.md
records the figures of a run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def fuzz(examples: int) -> list[tuple[str, int, float, str]]:
    os.environ["DMP_FUZZ_EXAMPLES"] = str(examples)  # read when the tests are decorated
    from dmp_sandbox.demo import seed_demo
    from dmp_sandbox.host import DmpHost
    from dmp_sandbox.store import Store
    from tests.support.fuzz import TRIED
    from tests.unit import test_fuzz_cda, test_fuzz_host, test_fuzz_mtom, test_fuzz_soap

    folder = tempfile.TemporaryDirectory(prefix="dmp-bench-fuzz-")
    store = Store(f"sqlite:///{Path(folder.name) / 'host.db'}")
    seed_demo(store)
    host = DmpHost(store)
    targets: list[tuple[str, str, Callable[[], Any]]] = [
        (
            "Réponses SOAP (officielles et de l'hôte)",
            "réponses SOAP",
            test_fuzz_soap.test_mutated_answers_raise_only_typed_errors,
        ),
        (
            "En-têtes Content-Type altérés",
            "réponses SOAP",
            test_fuzz_soap.test_mangled_content_types_raise_only_typed_errors,
        ),
        (
            "Client DMP complet (TD0.2, TD3.1, TD0.3)",
            "client DMP",
            test_fuzz_soap.test_the_client_reads_mutated_answers_with_typed_errors,
        ),
        (
            "Messages MTOM (TD3.2)",
            "réponses MTOM",
            test_fuzz_mtom.test_mutated_multiparts_raise_only_typed_errors,
        ),
        (
            "Client DMP, récupération de documents",
            "client DMP (TD3.2)",
            test_fuzz_mtom.test_the_client_retrieves_mutated_documents_with_typed_errors,
        ),
        (
            "Documents CDA (rendu, niveau 1, VSM, visionneuse)",
            "documents CDA",
            test_fuzz_cda.test_mutated_documents_raise_only_typed_errors,
        ),
        (
            "Requêtes reçues par l'hôte",
            "requêtes à l'hôte",
            lambda: test_fuzz_host.test_mutated_requests_get_answers_not_internal_errors(
                dmp_host=host
            ),
        ),
    ]
    results = []
    try:
        for label, counter, run in targets:
            before = TRIED[counter]
            started = time.perf_counter()
            try:
                run()
                outcome = "erreurs typées uniquement"
            except BaseException as exc:
                outcome = f"ÉCHEC : {type(exc).__name__}: {str(exc)[:300]}"
            results.append((label, TRIED[counter] - before, time.perf_counter() - started, outcome))
    finally:
        store.close()
        folder.cleanup()
    return results


def latency(seconds: float) -> list[tuple[str, float, str]]:
    from dmp_desktop.connect import open_dmp
    from dmp_desktop.errors import DmpDesktopError, describe
    from dmp_desktop.settings import SOFTHSM_MODULE
    from dmp_desktop.smartcard import CardManager
    from dmp_sandbox.demo import demo_patients
    from dmp_sandbox.server import run_in_thread
    from dmp_sandbox.training import init_training_env
    from tests.support.fault_proxy import Delay, FaultProxy

    lea = next(p for p in demo_patients() if p.key == "actif-autorise").ins
    results: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="dmp-bench-latency-") as folder:
        env = init_training_env(Path(folder), port=0)
        os.environ["SOFTHSM2_CONF"] = str(env.softhsm_conf)
        manager = CardManager([SOFTHSM_MODULE])
        card = next(c for c in manager.list_cards() if c.token_label == "CPS3-DURAND")
        session = manager.login(card, "1234")
        try:
            with run_in_thread(env, seed=True) as host, FaultProxy("127.0.0.1", host.port) as proxy:
                base = dataclasses.replace(env.client_settings(), host_url=proxy.url)
                for read_timeout in (base.read_timeout, seconds * 2 / 3):
                    settings = dataclasses.replace(base, read_timeout=read_timeout)
                    with open_dmp(settings, session) as client:
                        client.test_existence(lea)  # connection up, card signature done
                        proxy.set_mode(Delay(seconds), times=None)
                        started = time.perf_counter()
                        try:
                            client.test_existence(lea)
                            outcome = "réponse reçue"
                        except DmpDesktopError as exc:
                            outcome = f"{type(exc).__name__} : « {describe(exc)} »"
                        results.append(
                            (
                                f"latence {seconds:g} s, délai de lecture {read_timeout:g} s",
                                time.perf_counter() - started,
                                outcome,
                            )
                        )
                        proxy.clear()
        finally:
            session.close()
            manager.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=2000, help="inputs per target")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds of delay to measure")
    parser.add_argument("--no-fuzz", action="store_true", help="the latency measure only")
    args = parser.parse_args(argv)
    print(
        f"Machine : {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} processeurs\n"
    )
    failed = False
    if not args.no_fuzz:
        print(f"## Fuzzing ({args.examples} entrées demandées par cible)\n")
        print("| cible | entrées essayées | durée (s) | résultat |")
        print("|---|---:|---:|---|")
        total_inputs, total_time = 0, 0.0
        for label, tried, elapsed, outcome in fuzz(args.examples):
            print(f"| {label} | {tried} | {elapsed:.1f} | {outcome} |")
            total_inputs += tried
            total_time += elapsed
            failed = failed or outcome.startswith("ÉCHEC")
        print(f"| **total** | **{total_inputs}** | **{total_time:.1f}** | |\n")
    if args.latency > 0:
        print(f"## Latence de {args.latency:g} s (proxy de pannes, carte CPS3 SoftHSM)\n")
        print("| mesure | durée (s) | résultat |")
        print("|---|---:|---|")
        for label, elapsed, outcome in latency(args.latency):
            print(f"| {label} | {elapsed:.2f} | {outcome} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
