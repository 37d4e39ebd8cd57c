"""``dmp essentials``: « L'essentiel » of a patient's record, as the window's pane shows it.

Same card and PIN options and exit codes as ``dmp list``. The lines come from
the structured documents of the list (active documents of the last 2 years,
or every date with ``--all-dates``) that this professional already retrieved
— in the window or with ``--load`` — kept as facts in the encrypted cache
shared with the window. Nothing is retrieved without ``--load``: the DMP
traces every retrieval; the output says how many structured documents are
still unread.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from dmp_desktop.cli.common import (
    EXIT_OK,
    CardOptions,
    Connection,
    Io,
    OpenDmp,
    ins_option,
    parse_ins,
    with_card,
)

COMMANDS = ("essentials",)


def add_parser(sub: Any, card_options: CardOptions) -> None:
    p = sub.add_parser(
        "essentials",
        help="L'essentiel du dossier : pathologies, allergies, traitements, résultats…",
        description=(
            "Affiche L'essentiel du DMP du patient, tiré des documents structurés déjà "
            "récupérés (pathologies, allergies, traitements en cours, vaccinations, derniers "
            "résultats et leur évolution, directives anticipées, personne de confiance). "
            "Chaque ligne cite son document ; les sources discordantes sont signalées."
        ),
    )
    ins_option(p)
    p.add_argument(
        "--load",
        action="store_true",
        help="récupérer d'abord les documents structurés pas encore lus (tracé dans le DMP)",
    )
    p.add_argument("--all-dates", action="store_true", help="documents de toutes dates")
    p.add_argument("--json", action="store_true", help="sortie JSON pour les scripts")
    card_options(p)


def run(args: argparse.Namespace, settings: Any, io: Io, open_dmp: OpenDmp | None) -> int:
    from dmp_desktop.errors import DmpDesktopError, describe
    from dmp_desktop.essentials.codec import essentials_to_dict
    from dmp_desktop.essentials.text import render
    from dmp_desktop.storage.essentials_cache import EssentialsCache
    from dmp_desktop.storage.secure import SecureStore
    from dmp_desktop.usecases.consultation import ListScope, Period, list_documents
    from dmp_desktop.usecases.essentials import EssentialsSession, load_structured

    ins = parse_ins(args, settings)
    store = SecureStore.open(
        settings.local_data_dir() / "state", training_mode=settings.training_mode
    )
    scope = ListScope(period=Period.ALL) if args.all_dates else ListScope()
    result: dict[str, Any] = {}

    def work(conn: Connection) -> int:
        entries = list_documents(conn.client, ins, scope)
        session = EssentialsSession(
            conn.session.practitioner.national_id, ins, EssentialsCache(store)
        )
        session.open()
        if args.load:
            count = load_structured(conn.client, session, entries)
            if not args.json:
                io.err.write(f"{count} document(s) structuré(s) récupéré(s).\n")
        result["essentials"] = session.essentials(entries)
        result["missing"] = len(session.missing(entries))
        try:
            session.save()
        except DmpDesktopError as exc:  # the lines are right; only the cache is not kept
            io.err.write(
                f"L'essentiel n'a pas pu être gardé sur cet ordinateur : {describe(exc)}\n"
            )
        return EXIT_OK

    code = with_card(args, settings, io, open_dmp, work)
    essentials, missing = result["essentials"], result["missing"]
    if args.json:
        data = essentials_to_dict(essentials)
        data["unread_structured_documents"] = missing
        io.out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        io.out.write(render(essentials, missing=missing))
    return code
