"""``dmp patient search`` (INSi, then TD0.5) and ``dmp patients`` (TD0.4 « Mes patients DMP »).

``dmp patient search --birth-name NOM --given-names PRÉNOMS --sex F|M
--birth-date AAAA-MM-JJ [--birthplace CODE] [--json]``: the INSi search by
traits (the card signs the request), then the DMP's patients with those
traits. Exit code 0 when INSi found one identity (``00``), 1 when it found
none (``01``) or several (``02``) — the output then says what to try —, 2
for bad options.

``dmp patients [--filter TEXTE] [--json]``: the DMPs the card holder is
authorised on.

The rules are the use cases' (:mod:`dmp_desktop.usecases.patients`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from dmp_desktop.cli.common import Connection, Io, OpenDmp, with_card
from dmp_desktop.dates import DateFormatError, fr_date, parse_iso_date
from dmp_desktop.dmp import td04
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import DmpDesktopError
from dmp_desktop.identity.traits import (
    SEX_LABELS_FR,
    InsIdentity,
    TraitsError,
    TraitsQuery,
    normalize_trait,
    qualification_text,
    strict_traits_lines,
)
from dmp_desktop.settings import Settings
from dmp_desktop.storage.recent_patients import RecentPatients, open_recent_patients
from dmp_desktop.usecases.patients import Candidate, PatientFinder, TraitsSearch

COMMANDS = ("patient", "patients")
EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE = 0, 1, 2

CardOptions = Callable[[argparse.ArgumentParser], None]


def _iso_date(text: str) -> dt.date:
    try:
        return parse_iso_date(text)
    except DateFormatError:
        raise argparse.ArgumentTypeError(
            f"date invalide « {text} » : écrivez-la AAAA-MM-JJ, par exemple 2007-05-25."
        ) from None


def add_trait_options(p: argparse.ArgumentParser, *, birthplace_required: bool = False) -> None:
    """The five strict traits, as ``dmp upload`` and ``dmp patient search`` take them."""
    p.add_argument("--birth-name", required=True, help="nom de naissance")
    p.add_argument(
        "--given-names",
        required=True,
        help="prénom(s) de naissance, séparés par des espaces (le premier d'abord)",
    )
    p.add_argument("--sex", required=True, choices=("F", "M"), help="sexe : F ou M")
    p.add_argument("--birth-date", required=True, type=_iso_date, metavar="AAAA-MM-JJ")
    p.add_argument(
        "--birthplace",
        required=birthplace_required,
        help="code INSEE (COG) du lieu de naissance, 99xxx à l'étranger",
    )


def add_parsers(sub: Any, card_options: CardOptions) -> None:
    patient = sub.add_parser(
        "patient",
        help="trouver un patient : son INS par le téléservice INSi, puis son DMP",
        description="Recherche de l'INS par les traits d'identité (INSi), puis du DMP (TD0.5).",
    )
    patient_sub = patient.add_subparsers(dest="patient_command", required=True, metavar="ACTION")
    search = patient_sub.add_parser(
        "search",
        help="INS par les traits d'identité (INSi), puis les DMP correspondants (TD0.5)",
        description=(
            "Interroge le téléservice INSi avec les traits d'identité, puis le DMP. "
            "Code de sortie 0 : une identité trouvée ; 1 : aucune ou plusieurs (la sortie dit "
            "quoi essayer) ; 2 : options invalides."
        ),
    )
    add_trait_options(search)
    search.add_argument("--json", action="store_true", help="sortie JSON pour les scripts")
    card_options(search)

    mine = sub.add_parser(
        "patients",
        help="« Mes patients DMP » : les DMP sur lesquels vous êtes autorisé (TD0.4)",
        description="Liste les DMP sur lesquels vous avez une autorisation d'accès valide.",
    )
    mine.add_argument(
        "--filter", default="", help="ne garder que les patients dont le nom commence ainsi"
    )
    mine.add_argument("--json", action="store_true", help="sortie JSON pour les scripts")
    card_options(mine)


def traits_query(args: argparse.Namespace) -> TraitsQuery:
    """The traits of the command line (raises TraitsError with the trait and a French reason)."""
    return TraitsQuery.from_text(
        args.birth_name, args.given_names, args.sex, args.birth_date, args.birthplace
    )


# --- output ------------------------------------------------------------------------------------


def identity_json(identity: InsIdentity) -> dict[str, Any]:
    traits = identity.traits
    return {
        "ins": identity.ins.value,
        "ins_oid": identity.ins.oid,
        "qualified": identity.qualified,
        "source": identity.source.value,
        "birth_name": traits.birth_name,
        "given_names": list(traits.given_names),
        "sex": traits.sex,
        "birth_date": traits.birth_date.isoformat(),
        "birthplace": traits.birthplace,
        "used_name": identity.used_name,
    }


def _candidate_json(candidate: Candidate) -> dict[str, Any]:
    return {
        **identity_json(candidate.identity),
        "dmp": candidate.dmp_state,
        "differs_from_insi": candidate.differs_from_insi,
    }


def _born(identity: InsIdentity) -> str:
    word = {"F": "née", "M": "né"}.get(identity.traits.sex, "né(e)")
    return f"{word} le {fr_date(identity.traits.birth_date)}"


def _dmp_state_fr(state: str | None) -> str:
    return {"active": "DMP actif", "terminated": "DMP fermé"}.get(state or "", "DMP")


def _search_text(result: TraitsSearch) -> str:
    insi = result.insi
    lines: list[str] = []
    if result.identity is not None:
        identity = result.identity
        lines.append("INSi : une identité trouvée (00). " + qualification_text(identity) + ".")
        lines.append(f"  INS : {identity.ins.value} ({identity.ins.oid})")
        lines.extend(f"  {caption} : {value}" for caption, value in strict_traits_lines(identity))
    else:
        what = "aucune identité trouvée" if insi.code == "01" else "plusieurs identités trouvées"
        lines.append(f"INSi : {what} ({insi.code}).")
        lines.append(f"  {insi.advice_fr}")
    if result.dmp:
        lines.append(f"DMP (TD0.5) : {len(result.dmp)} patient(s) avec ces traits")
        for candidate in result.dmp:
            identity = candidate.identity
            warning = (
                "  ATTENTION : INS différent de celui de l'INSi"
                if candidate.differs_from_insi
                else ""
            )
            lines.append(
                f"  {identity.ins.value}  {identity.display_name}, {_born(identity)} — "
                f"{_dmp_state_fr(candidate.dmp_state)}{warning}"
            )
    else:
        lines.append("DMP (TD0.5) : aucun DMP avec ces traits.")
    return "\n".join(lines)


def _row_json(row: td04.AuthorisedPatient) -> dict[str, Any]:
    def when(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        **identity_json(row.identity),
        "dmp_id": row.dmp_id,
        "treating_physician": row.treating_physician,
        "last_access": when(row.last_access),
        "last_update": when(row.last_update),
        "last_document": when(row.last_document),
    }


def _rows_text(rows: list[td04.AuthorisedPatient]) -> str:
    if not rows:
        return "Aucun DMP sur lequel vous êtes autorisé."
    lines = [f"{len(rows)} DMP sur lesquels vous êtes autorisé :"]
    for row in rows:
        identity = row.identity
        treating = " · médecin traitant DMP" if row.treating_physician else ""
        seen = f" · dernier accès le {fr_date(row.last_access)}" if row.last_access else ""
        lines.append(
            f"  {identity.ins.value}  {identity.display_name}, {_born(identity)}{treating}{seen}"
        )
    return "\n".join(lines)


def filter_rows(rows: list[td04.AuthorisedPatient], text: str) -> list[td04.AuthorisedPatient]:
    """The rows whose birth or used name (or INS) starts with ``text`` (« Mes patients DMP »)."""
    wanted = normalize_trait(text)
    if not wanted:
        return rows
    return [
        r
        for r in rows
        if any(
            normalize_trait(n).startswith(wanted)
            for n in (r.identity.traits.birth_name, r.identity.used_name, r.identity.ins.value)
            if n
        )
    ]


# --- running -----------------------------------------------------------------------------------


def recent_store(settings: Settings | None) -> RecentPatients | None:
    """The professional's recent patients (shared with the window); None without a keyring."""
    if settings is None:
        return None
    try:
        return open_recent_patients(settings)
    except (DmpDesktopError, OSError):
        return None


def known_identity(settings: Settings, professional_id: str, ins: Ins) -> InsIdentity | None:
    """The identity kept for ``ins`` (a qualified one from ``dmp patient search``), if any."""
    store = recent_store(settings)
    if store is None:
        return None
    try:
        return PatientFinder(None, professional_id, store).known_identity(ins)
    except (DmpDesktopError, OSError):
        return None


def run(args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None) -> int:
    """Run ``dmp patient search`` or ``dmp patients``."""
    if args.command == "patient":
        try:
            query = traits_query(args)
        except TraitsError as exc:
            io.err.write(f"{exc.message_fr}\n")
            return EXIT_USAGE

        def search(conn: Connection) -> int:
            professional = conn.session.practitioner.national_id
            finder = PatientFinder(conn.client, professional, recent_store(settings))
            result = finder.search_by_traits(query, conn.session)
            if result.identity is not None:  # kept, encrypted, for the uploads that follow
                try:
                    finder.opened(result.identity)
                except (DmpDesktopError, OSError):
                    pass
            if args.json:
                payload = {
                    "insi": {
                        "code": result.insi.code,
                        "label": result.insi.label,
                        "advice": result.advice_fr,
                        "identity": identity_json(result.identity) if result.identity else None,
                    },
                    "dmp": [_candidate_json(c) for c in result.dmp],
                }
                io.out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
            else:
                io.out.write(_search_text(result) + "\n")
            return EXIT_OK if result.identity is not None else EXIT_NOT_FOUND

        return with_card(args, settings, io, open_dmp, search)

    def listing(conn: Connection) -> int:
        professional = conn.session.practitioner.national_id
        rows = filter_rows(PatientFinder(conn.client, professional).my_patients(), args.filter)
        if args.json:
            io.out.write(
                json.dumps([_row_json(r) for r in rows], ensure_ascii=False, indent=2) + "\n"
            )
        else:
            io.out.write(_rows_text(rows) + "\n")
        return EXIT_OK

    return with_card(args, settings, io, open_dmp, listing)


__all__ = [
    "COMMANDS",
    "SEX_LABELS_FR",
    "add_parsers",
    "add_trait_options",
    "filter_rows",
    "identity_json",
    "run",
    "traits_query",
]
