"""The ``dmp-sandbox`` command: the training host ("mode formation") and its tools.

Exit codes: 0 success, 1 failure, 2 usage or missing environment.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dmp_desktop import argparse_fr
from dmp_sandbox.training import DEFAULT_PORT, TrainingEnv, default_root, private_dir

if TYPE_CHECKING:
    from dmp_sandbox.store import Store

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

CommandPlugin = Callable[
    [
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        Callable[[argparse.Namespace], TrainingEnv],
        Callable[[argparse.Namespace], "Store"],
    ],
    None,
]
# Commands of the training world's actors (:mod:`dmp_actors`: the Assurance Maladie's
# feed), registered when that package is imported; the judge itself imports none.
COMMAND_PLUGINS: list[CommandPlugin] = []


def _out(text: str = "") -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _env(args: argparse.Namespace) -> TrainingEnv:
    root = Path(args.dir).expanduser() if args.dir else default_root()
    return TrainingEnv(root.resolve(), getattr(args, "port", None) or DEFAULT_PORT)


def _missing_env(env: TrainingEnv) -> int:
    _err(
        f"Environnement de formation introuvable dans {env.root} : "
        "créez-le avec « dmp-sandbox demo init --dir <dossier> »."
    )
    return EXIT_USAGE


def _db_url(args: argparse.Namespace, env: TrainingEnv) -> str:
    return args.db or env.db_url


class _StoreUnavailable(Exception):
    pass


def _open_store(url: str) -> Store:
    """The store, or a French message on why it cannot be opened."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from dmp_sandbox.store import Store

    try:
        return Store(url)
    except ModuleNotFoundError as exc:
        raise _StoreUnavailable(
            f"Pilote de base de données absent ({exc.name}) : pour PostgreSQL, "
            "installez l'extra « postgres » (psycopg)."
        ) from exc
    except ArgumentError as exc:
        raise _StoreUnavailable("Adresse de base de données invalide.") from exc
    except SQLAlchemyError as exc:
        raise _StoreUnavailable(f"Base de données inaccessible ({type(exc).__name__}).") from exc


# --- pki --------------------------------------------------------------------
def cmd_pki_init(args: argparse.Namespace) -> int:
    from dmp_sandbox.pki import init_pki

    paths = init_pki(Path(args.directory).expanduser())
    _out(f"IGC de test créée dans {paths.root}")
    _out(f"  racine à épingler côté client : {paths.trust_roots}")
    _out(f"  certificat de l'hôte          : {paths.host_cert}")
    return EXIT_OK


# --- card -------------------------------------------------------------------
def _situation_arg(text: str) -> tuple[str, str, str]:
    parts = [p.strip() for p in text.split(":")]
    if len(parts) != 3 or not parts[0].isalnum() or not parts[2].startswith("SA"):
        raise argparse.ArgumentTypeError(
            "situation attendue sous la forme ID:NOM:SECTEUR, ex. 499700433153008:CENTRE:SA05"
        )
    return parts[0], parts[1], parts[2]


def cmd_card_create(args: argparse.Namespace) -> int:
    from dmp_sandbox.cards import STAFF_TITLE, CardSpec, Situation, create_card, write_softhsm_conf
    from dmp_sandbox.regulation import REGULATION_CENTRE_ID, REGULATION_CENTRES

    env = _env(args)
    if not env.pki.persons_key.is_file():
        return _missing_env(env)
    if not env.softhsm_conf.is_file():
        write_softhsm_conf(env.softhsm_dir)
    if args.regulator and (args.staff or args.profession != "Médecin"):
        _err("Un médecin régulateur (--regulator) a une carte de médecin : retirez --staff.")
        return EXIT_USAGE
    extra = (
        {"structure_name": REGULATION_CENTRES[REGULATION_CENTRE_ID]} if args.regulator else {}
    )
    spec = CardSpec(
        label=args.label,
        national_id=args.national_id,
        family_name=args.family,
        given_name=args.given,
        profession=STAFF_TITLE if args.staff else args.profession,
        pin=args.pin,
        cps4=args.cps4,
        structure_id=REGULATION_CENTRE_ID if args.regulator else args.structure_id,
        specialty=args.specialty,
        more_situations=tuple(Situation(*parts) for parts in args.situation or []),
        **extra,
    )
    create_card(spec, env.pki, env.softhsm_conf)
    kind = "CPS4" if args.cps4 else "CPS3"
    what = f"{spec.profession}, spécialité {spec.specialty}" if spec.specialty else spec.profession
    _out(f"Carte {spec.label} créée ({kind}, {what}) dans {env.softhsm_dir}")
    return EXIT_OK


# --- structure ----------------------------------------------------------------------
def cmd_structure_create(args: argparse.Namespace) -> int:
    from dmp_sandbox.structures import (
        KEYRING_SERVICE,
        StructureSpec,
        create_structure,
        default_p12_path,
        keyring_user,
    )

    env = _env(args)
    if not env.pki.orgs_key.is_file():
        return _missing_env(env)
    path = Path(args.out).expanduser() if args.out else default_p12_path(env.root, args.id)
    try:
        created = create_structure(StructureSpec(args.id, args.name), env.pki, path.resolve())
    except ValueError as exc:
        _err(f"Structure non créée : {exc}.")
        return EXIT_USAGE
    user = keyring_user(created.p12_path)
    _out(f"Certificat de la structure {args.name} ({args.id}) : {created.p12_path}")
    _out(f"Mot de passe du fichier PKCS#12 : {created.passphrase}")
    _out("Ce mot de passe va dans le trousseau du système, jamais dans les paramètres :")
    _out(f"  service « {KEYRING_SERVICE} », utilisateur « {user} »")
    _out(f"  par exemple : python -m keyring set {KEYRING_SERVICE} {user}")
    _out("  ou dans DMP Desktop : Paramètres (Ctrl+,) > Certificat de la structure.")
    return EXIT_OK


# --- demo / seed ----------------------------------------------------------------
def _print_patients() -> None:
    from dmp_sandbox.demo import demo_patients, patients_table

    _out("Patients de démonstration (INS de test, autorité 1.2.250.1.213.1.4.10) :")
    _out(patients_table(demo_patients()))


def _print_cards() -> None:
    from dmp_sandbox.training import describe_cards

    _out("Cartes de test (SoftHSM) :")
    for card in describe_cards():
        _out(
            f"  {card['label']:<14} {card['given_name']} {card['family_name'].upper()}, "
            f"{card['profession'].lower()} - code PIN {card['pin']}"
        )


def _seed(url: str) -> None:
    from dmp_sandbox.demo import seed_demo

    with _open_store(url) as store:
        seed_demo(store)


def cmd_demo_init(args: argparse.Namespace) -> int:
    from dmp_sandbox.training import init_training_env

    env = _env(args)
    if env.settings_path.exists() or env.softhsm_conf.exists():
        if not args.force:
            _err(
                f"Un environnement de formation existe déjà dans {env.root} "
                "(--force pour le recréer)."
            )
            return EXIT_FAILURE
        for path in (env.pki.root, env.softhsm_dir):
            shutil.rmtree(path, ignore_errors=True)
        for path in (env.db_path, env.settings_path):
            path.unlink(missing_ok=True)
    _out(f"Création de l'environnement de formation dans {env.root}…")
    env = init_training_env(env.root, port=env.port)
    _seed(env.db_url)
    _out(f"Paramètres du client : {env.settings_path}")
    _out(f"Hôte de formation    : {env.host_url} (dmp-sandbox serve --dir {env.root})")
    _print_cards()
    _print_patients()
    return EXIT_OK


def cmd_demo_info(args: argparse.Namespace) -> int:
    env = _env(args)
    if not env.settings_path.exists():
        return _missing_env(env)
    _out(f"Environnement de formation : {env.root}")
    _out(f"Paramètres du client       : {env.settings_path}")
    _print_cards()
    _print_patients()
    return EXIT_OK


def cmd_demo_first_ins(args: argparse.Namespace) -> int:
    from dmp_sandbox.demo import demo_patients

    _out(demo_patients()[0].ins.value)
    return EXIT_OK


def cmd_seed(args: argparse.Namespace) -> int:
    if not args.demo:
        _err("Précisez le jeu de données : --demo (patients de démonstration).")
        return EXIT_USAGE
    env = _env(args)
    url = _db_url(args, env)
    if not args.db:
        private_dir(env.root)
    _seed(url)
    _out("Patients de démonstration et leurs documents chargés.")
    _print_patients()
    return EXIT_OK


# --- db -------------------------------------------------------------------------
def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from dmp_sandbox import migrations

    env = _env(args)
    if not args.db:
        private_dir(env.root)
    try:
        store = _open_store(_db_url(args, env))  # the store upgrades the schema when opened
    except _StoreUnavailable as exc:
        _err(str(exc))
        return EXIT_USAGE
    with store, store.engine.connect() as connection:
        revision = migrations.current_revision(connection)
    _out(f"Base à jour (révision {revision}).")
    return EXIT_OK


def cmd_db_current(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from dmp_sandbox import migrations
    from dmp_sandbox.migrations import cli

    env = _env(args)
    if not args.db and not env.db_path.exists():
        return _missing_env(env)
    try:
        revision, has_tables = cli.current(_db_url(args, env))
    except (ModuleNotFoundError, SQLAlchemyError) as exc:
        _err(f"Base de données inaccessible ({type(exc).__name__}).")
        return EXIT_USAGE
    head = migrations.head_revision()
    if revision is None:
        state = "créée avant les migrations" if has_tables else "vide"
        _out(f"Aucune révision (base {state}) ; dernière révision : {head}.")
    elif revision == head:
        _out(f"Révision {revision} (la dernière).")
    else:
        _out(f"Révision {revision} ; dernière révision : {head} (dmp-sandbox db upgrade).")
    return EXIT_OK


def cmd_db_revision(args: argparse.Namespace) -> int:
    from dmp_sandbox.migrations import cli

    paths = cli.new_revision(args.message, args.rev_id)
    for path in paths:
        _out(f"Révision créée : {path} (relisez-la : docs/database.md).")
    return EXIT_OK


# --- outbox -----------------------------------------------------------------------
_OUTBOX_KINDS = {
    "BRIS_DE_GLACE": "bris de glace",
    "CENTRE_15": "centre 15",
    "DMP_CREE": "création du DMP",
    "DMP_FERME": "fermeture du DMP",
    "DMP_REACTIVE": "réactivation du DMP",
    "DONNEES_MODIFIEES": "données administratives",
    "ACCES_EN_LIGNE": "accès en ligne",
    "CANAL_OTP_AJOUTE": "code à usage unique",
    "CANAL_OTP_SUPPRIME": "canal de code retiré",
    "ACCES_RENOUVELE": "accès en ligne renouvelé",
    "PS_BLOQUE": "professionnel bloqué",
    "PS_DEBLOQUE": "professionnel débloqué",
}


def cmd_outbox(args: argparse.Namespace) -> int:
    """The notifications the DMP sent (would send) to patients, oldest first."""
    from zoneinfo import ZoneInfo

    from dmp_desktop.domain.patient import Ins, InsError, normalize_ins_text

    env = _env(args)
    if not args.db and not env.db_path.exists():
        return _missing_env(env)
    ins_value = None
    if args.patient:
        ins_value = normalize_ins_text(args.patient)
        try:
            Ins(ins_value)
        except InsError as exc:
            _err(f"INS invalide : {exc}")
            return EXIT_USAGE
    with _open_store(_db_url(args, env)) as store:
        rows = store.outbox(ins_value=ins_value)
    if not rows:
        _out(
            "Aucune notification pour ce patient."
            if ins_value
            else "Aucune notification envoyée aux patients."
        )
        return EXIT_OK
    paris = ZoneInfo("Europe/Paris")
    _out(f"{len(rows)} notification(s) aux patients :")
    for message, ins, _root in rows:
        when = message.created_at.astimezone(paris)
        kind = _OUTBOX_KINDS.get(message.kind, message.kind.lower())
        to = (
            f"  (au médecin traitant {message.recipient_national_id})"
            if message.recipient_national_id
            else ""
        )
        _out(f"{when:%d/%m/%Y %H:%M}  INS {ins}  [{kind}]{to}  {message.text}")
    return EXIT_OK


# --- serve ------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    from dmp_sandbox.server import pki_ready, serve

    env = _env(args)
    if not pki_ready(env.pki):
        return _missing_env(env)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s : %(message)s"
    )
    if args.workers > 1:
        return _serve_workers(args, env)
    with _open_store(_db_url(args, env)) as store:

        def ready(url: str) -> None:
            _out(f"Hôte de formation DMP prêt : {url}")
            _out("Arrêt : Ctrl+C.")

        try:
            serve(store, env.pki, args.host, args.port, on_ready=ready, access_log=args.access_log)
        except OSError as exc:
            _err(f"Impossible d'écouter sur {args.host}:{args.port} : {exc.strerror or exc}.")
            return EXIT_FAILURE
    _out("Hôte de formation arrêté.")
    return EXIT_OK


def _serve_workers(args: argparse.Namespace, env: TrainingEnv) -> int:
    """``--workers N``: gunicorn's master and N aiohttp workers (dmp_sandbox/workers.py)."""
    url = _db_url(args, env)
    if url.startswith("sqlite"):
        _err(
            "Plusieurs processus (--workers) demandent PostgreSQL (--db postgresql+psycopg://…) : "
            "SQLite n'a qu'un écrivain à la fois."
        )
        return EXIT_USAGE
    try:
        from dmp_sandbox.workers import serve_workers
    except ModuleNotFoundError as exc:
        _err(f"Module absent ({exc.name}) : installez l'extra « sandbox » (gunicorn).")
        return EXIT_USAGE
    try:
        _open_store(url).close()  # a clear message if the database cannot be reached
    except _StoreUnavailable as exc:
        _err(str(exc))
        return EXIT_FAILURE
    _out(f"Hôte de formation DMP : {args.workers} processus sur https://{args.host}:{args.port}")
    _out("Arrêt : Ctrl+C.")
    serve_workers(url, env.pki, args.host, args.port, args.workers, access_log=args.access_log)
    _out("Hôte de formation arrêté.")
    return EXIT_OK


def cmd_wait_ready(args: argparse.Namespace) -> int:
    from dmp_sandbox.server import wait_ready

    if wait_ready(args.host, args.port, args.timeout):
        return EXIT_OK
    _err(f"L'hôte de formation ne répond pas sur {args.host}:{args.port} après {args.timeout:g} s.")
    return EXIT_FAILURE


# --- parser -----------------------------------------------------------------------
def _add_dir(parser: argparse._ActionsContainer) -> None:
    parser.add_argument(
        "--dir",
        metavar="DOSSIER",
        help="dossier de l'environnement de formation "
        "(défaut : $DMP_TRAINING_DIR ou ~/.local/share/dmp-desktop/training)",
    )


def _add_db(parser: argparse._ActionsContainer) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        help="base de données (URL SQLAlchemy, par ex. sqlite:///hote.db ou "
        "postgresql+psycopg://utilisateur@serveur/base ; défaut : host.db du dossier)",
    )


def build_parser() -> argparse.ArgumentParser:
    argparse_fr.install()  # argparse's own messages in French
    parser = argparse.ArgumentParser(
        prog="dmp-sandbox",
        description="Hôte DMP de formation (mode formation) et ses outils : IGC de test, "
        "cartes de test, patients de démonstration.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMANDE", required=True)

    pki = commands.add_parser("pki", help="IGC de test (façon IGC-Santé)")
    pki_commands = pki.add_subparsers(dest="pki_command", metavar="ACTION", required=True)
    pki_init = pki_commands.add_parser(
        "init", help="créer une IGC de test et le certificat de l'hôte"
    )
    pki_init.add_argument("directory", metavar="DOSSIER", help="dossier de destination")
    pki_init.set_defaults(func=cmd_pki_init)

    card = commands.add_parser("card", help="cartes de test SoftHSM")
    card_commands = card.add_subparsers(dest="card_command", metavar="ACTION", required=True)
    create = card_commands.add_parser(
        "create", help="créer une carte SoftHSM organisée comme une carte CPS3 (ou CPS4)"
    )
    _add_dir(create)
    create.add_argument("--label", required=True, help="étiquette du jeton, ex. CPS3-DUPONT")
    create.add_argument(
        "--national-id",
        required=True,
        metavar="IDENTIFIANT",
        help="identifiant national : 8 + n° RPPS (ex. 899700433153)",
    )
    create.add_argument("--family", required=True, metavar="NOM", help="nom de famille")
    create.add_argument("--given", required=True, metavar="PRÉNOM", help="prénom")
    create.add_argument(
        "--profession", default="Médecin", help="profession portée par la carte (défaut : Médecin)"
    )
    create.add_argument("--pin", required=True, help="code PIN de la carte (4 à 8 caractères)")
    create.add_argument("--cps4", action="store_true", help="carte CPS4 (signature PSS autorisée)")
    create.add_argument(
        "--staff", action="store_true", help="carte de personnel de structure (secrétaire)"
    )
    create.add_argument(
        "--regulator",
        action="store_true",
        help="carte d'un médecin régulateur du SAMU-Centre 15 de formation (seul mode d'accès "
        "« centre 15 » accepté par l'hôte)",
    )
    create.add_argument(
        "--structure-id",
        default="499700433153007",
        metavar="ID",
        help="identifiant de la structure d'exercice (défaut : 499700433153007)",
    )
    create.add_argument(
        "--specialty",
        metavar="CODE",
        help="spécialité (nomenclature R01), ex. SM26 pour la médecine générale ; écrite "
        "comme sur une vraie carte (extension du certificat et objet CPS_INFO_PS)",
    )
    create.add_argument(
        "--situation",
        action="append",
        type=_situation_arg,
        metavar="ID:NOM:SECTEUR",
        help="une situation d'exercice de plus (objet CPS_ACTIVITY_nn_PS), ex. "
        "499700433153008:CENTRE DE SANTE:SA05 ; répétable",
    )
    create.set_defaults(func=cmd_card_create)

    structure = commands.add_parser(
        "structure", help="certificats de structure de test (authentification indirecte)"
    )
    structure_commands = structure.add_subparsers(
        dest="structure_command", metavar="ACTION", required=True
    )
    structure_create = structure_commands.add_parser(
        "create",
        help="émettre un certificat de structure (AC organisations de test) dans un PKCS#12",
    )
    _add_dir(structure_create)
    structure_create.add_argument(
        "--id", required=True, metavar="ID", help="identifiant de la structure, ex. 499700433153007"
    )
    structure_create.add_argument(
        "--name", required=True, metavar="NOM", help="raison sociale, ex. « CABINET DU PARC »"
    )
    structure_create.add_argument(
        "--out",
        metavar="FICHIER",
        help="fichier PKCS#12 à écrire (défaut : structures/<id>.p12 dans le dossier)",
    )
    structure_create.set_defaults(func=cmd_structure_create)

    demo = commands.add_parser("demo", help="environnement de démonstration")
    demo_commands = demo.add_subparsers(dest="demo_command", metavar="ACTION", required=True)
    demo_init = demo_commands.add_parser(
        "init", help="créer IGC, cartes de test, patients de démonstration et paramètres client"
    )
    _add_dir(demo_init)
    demo_init.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port de l'hôte (défaut : {DEFAULT_PORT})"
    )
    demo_init.add_argument(
        "--force", action="store_true", help="recréer un environnement existant (tout est effacé)"
    )
    demo_init.set_defaults(func=cmd_demo_init)
    demo_info = demo_commands.add_parser(
        "info", help="afficher cartes et patients de démonstration"
    )
    _add_dir(demo_info)
    demo_info.set_defaults(func=cmd_demo_info)
    first = demo_commands.add_parser(
        "first-ins", help="afficher l'INS du premier patient de démonstration"
    )
    _add_dir(first)
    first.set_defaults(func=cmd_demo_first_ins)

    seed = commands.add_parser("seed", help="charger des données dans la base de l'hôte")
    seed.add_argument(
        "--demo",
        action="store_true",
        help="charger (ou réinitialiser) les patients de démonstration",
    )
    where = seed.add_mutually_exclusive_group()
    _add_dir(where)
    _add_db(where)
    seed.set_defaults(func=cmd_seed)

    outbox = commands.add_parser(
        "outbox",
        help="afficher les notifications envoyées aux patients (accès en mode bris de glace…) "
        "et aux médecins traitants",
    )
    outbox.add_argument(
        "--patient", metavar="INS", help="seulement les notifications de ce patient (INS)"
    )
    where = outbox.add_mutually_exclusive_group()
    _add_dir(where)
    _add_db(where)
    outbox.set_defaults(func=cmd_outbox)

    db = commands.add_parser("db", help="schéma de la base de l'hôte (migrations Alembic)")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_upgrade = db_commands.add_parser(
        "upgrade", help="mettre la base à jour (ce que fait l'hôte au démarrage)"
    )
    db_current = db_commands.add_parser("current", help="afficher la révision de la base")
    for sub, func in ((db_upgrade, cmd_db_upgrade), (db_current, cmd_db_current)):
        where = sub.add_mutually_exclusive_group()
        _add_dir(where)
        _add_db(where)
        sub.set_defaults(func=func)
    db_revision = db_commands.add_parser(
        "revision",
        help="développeurs : créer une révision d'après les modèles (docs/database.md)",
    )
    db_revision.add_argument("-m", "--message", required=True, help="objet de la révision")
    db_revision.add_argument(
        "--rev-id", help="identifiant de la révision (l'usage ici : le numéro suivant, 0004…)"
    )
    db_revision.set_defaults(func=cmd_db_revision)

    serve = commands.add_parser("serve", help="démarrer l'hôte de formation (TLS mutuel)")
    _add_dir(serve)
    _add_db(serve)
    serve.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (défaut : 127.0.0.1)")
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port d'écoute (défaut : {DEFAULT_PORT} ; 0 = port libre)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processus de l'hôte (défaut : 1 ; plus d'un : PostgreSQL, voir docs/database.md)",
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="une ligne HTTP par requête sur la console (chaque requête est de toute façon "
        "tracée dans la table traces de la base)",
    )
    serve.set_defaults(func=cmd_serve)

    wait = commands.add_parser("wait-ready", help="attendre que l'hôte de formation écoute")
    _add_dir(wait)
    wait.add_argument("--host", default="127.0.0.1", help="adresse (défaut : 127.0.0.1)")
    wait.add_argument("--port", type=int, default=DEFAULT_PORT, help="port")
    wait.add_argument(
        "--timeout", type=float, default=30.0, help="délai maximal en secondes (défaut : 30)"
    )
    wait.set_defaults(func=cmd_wait_ready)

    from dmp_sandbox import care_team, patient_cli, purge

    patient_cli.register(commands, _add_location, _store_for)
    purge.register(commands, _add_location, _store_for)
    care_team.register(commands, _add_location, _store_for)
    for add_commands in COMMAND_PLUGINS:
        add_commands(commands, _env, _store_for)
    return parser


def _add_location(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    _add_dir(where)
    _add_db(where)


def _store_for(args: argparse.Namespace) -> Store:
    """The store of ``--db`` or of the environment of ``--dir``."""
    env = _env(args)
    if not args.db and not env.db_path.exists():
        raise _StoreUnavailable(
            f"Environnement de formation introuvable dans {env.root} : "
            "créez-le avec « dmp-sandbox demo init --dir <dossier> »."
        )
    return _open_store(_db_url(args, env))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except _StoreUnavailable as exc:
        _err(str(exc))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
