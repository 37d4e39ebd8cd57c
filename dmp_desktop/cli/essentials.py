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
from collections.abc import Callable
from datetime import date
from typing import Any

from dmp_desktop.cli.main import EXIT_OK, EXIT_USAGE, Io, OpenDmp, _login

CardOptions = Callable[[argparse.ArgumentParser], None]
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
    p.add_argument("--ins", required=True, help="INS du patient (15 caractères)")
    p.add_argument(
        "--load",
        action="store_true",
        help="récupérer d'abord les documents structurés pas encore lus (tracé dans le DMP)",
    )
    p.add_argument("--all-dates", action="store_true", help="documents de toutes dates")
    p.add_argument("--json", action="store_true", help="sortie JSON pour les scripts")
    card_options(p)


def run(args: argparse.Namespace, settings: Any, io: Io, open_dmp: OpenDmp) -> int:
    from dmp_desktop.dmp.xds import two_years_before
    from dmp_desktop.domain.document import DocumentQuery
    from dmp_desktop.domain.patient import Ins, InsError, InsKind
    from dmp_desktop.errors import describe
    from dmp_desktop.essentials.codec import essentials_to_dict
    from dmp_desktop.essentials.text import render
    from dmp_desktop.smartcard.card import CardManager
    from dmp_desktop.storage.essentials_cache import EssentialsCache
    from dmp_desktop.storage.secure import SecureStore
    from dmp_desktop.usecases.essentials import EssentialsSession, load_structured

    try:
        ins = Ins.parse(args.ins, InsKind[settings.ins_kind])
    except InsError as exc:
        io.err.write(describe(exc) + "\n")
        return EXIT_USAGE
    store = SecureStore.open(
        settings.local_data_dir() / "state", training_mode=settings.training_mode
    )
    manager = CardManager(settings.middleware_candidates())
    try:
        card = _login(manager, args, io)
        try:
            client = open_dmp(settings, card)
            try:
                today = date.today()
                query = DocumentQuery(
                    patient=ins, since=None if args.all_dates else two_years_before(today)
                )
                entries = list(client.find_documents(query))
                session = EssentialsSession(
                    card.practitioner.national_id, ins, EssentialsCache(store)
                )
                session.open()
                if args.load:
                    count = load_structured(client, session, entries)
                    if not args.json:
                        io.err.write(f"{count} document(s) structuré(s) récupéré(s).\n")
                essentials = session.essentials(entries)
                missing = len(session.missing(entries))
                session.save()
            finally:
                client.close()
        finally:
            card.close()
    finally:
        manager.close()
    if args.json:
        data = essentials_to_dict(essentials)
        data["unread_structured_documents"] = missing
        io.out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        io.out.write(render(essentials, missing=missing))
    return EXIT_OK
