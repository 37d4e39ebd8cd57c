"""The Assurance Maladie's system: it feeds a care history into the DMP (a client of the host).

Identity (training convention, docs/wire-conventions.md): the Assurance
Maladie's system connects in structure mode ("authentification indirecte
renforcée") with a structure certificate of the test organisations CA
(``O=ASSURANCE MALADIE, OU=318003502400041``, the structure id of the CI-SIS
example ``CNAM-HR_2021.01.xml``). Its VIHF, signed with that certificate,
names the system ``318003502400041/ALIMAM`` and carries the non-professional
role ``ALIM_AM`` (1.2.250.1.213.1.1.4.6). The host:

- refuses the role ``ALIM_AM`` from anybody else (authentication fault,
  trace result ``VIHF_ROLE_ALIM_AM``): :func:`check_insurer_role`;
- lets it upload (ITI-41) its own documents only, authored ``ALIM_AM`` by
  that system, to any active DMP, without authorisation; never an update
  (ITI-57), never in emergency mode: :func:`grant_insurer_feed`;
- refuses every search (ITI-18) and retrieval (ITI-43) with
  ``DMPAccessDenied`` (:func:`dmp_sandbox.access.grant_consultation`); each
  refusal is traced like any request.

The submission carries no XAdES signature (the system authenticates with its
certificate and its signed VIHF; the host verifies a submission signature
only when there is one).

``dmp-sandbox insurer feed --ins …`` builds the care history (a CDA, see
:mod:`dmp_desktop.cda.care_history`: medicines, acts including imaging and
biology, hospital stays; never an amount) and sends it to the running
training host over mutual TLS. :func:`seed_care_history` puts the same
document in the store for the demo.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmp_desktop.cda import codes
from dmp_desktop.cda.care_history import (
    INSURER_AUTHOR_ID,
    INSURER_NAME,
    INSURER_STRUCTURE_ID,
    ActKind,
    AmountRefusedError,
    CareHistory,
    DispensedMedicine,
    HospitalStay,
    MedicalAct,
    build_care_history,
)
from dmp_desktop.cda.xmlutil import new_oid
from dmp_desktop.dmp import iti41, rim
from dmp_desktop.dmp.ebrs import RIM
from dmp_desktop.dmp.mtom import MimePart, build_mtom
from dmp_desktop.dmp.soap import SoapResponse, build_envelope, read_http_response
from dmp_desktop.dmp.vihf import (
    ATTR_ROLE,
    AUTH_MODE_INDIRECT_STRONG,
    VihfContext,
    build_vihf,
)
from dmp_desktop.dmp.vihf_signature import sign_vihf
from dmp_desktop.dmp.xds import XDSB
from dmp_desktop.dmp.xmlutil import Element, qn
from dmp_desktop.domain.document import Code
from dmp_desktop.domain.origin import (
    INSURER_CLASS,
    INSURER_CLASS_LABEL,
    OID_NON_PS_ROLE,
    ROLE_ALIM_AM,
    ROLE_ALIM_AM_LABEL,
    TYPE_CARE_HISTORY,
)
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import PatientIdentity
from dmp_desktop.errors import DmpDesktopError, describe
from dmp_sandbox.insurer import check_insurer_role, grant_insurer_feed
from dmp_sandbox.store import DocumentRecord, Patient

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dmp_sandbox.store import Store
    from dmp_sandbox.training import TrainingEnv

INSURER_ORGANISATION = "ASSURANCE MALADIE"
CARE_HISTORY_FORMAT = (
    "urn:asip:ci-sis:cnam-hr:2021",
    codes.FORMAT_CODE_VSM_SCHEME,
    "Historique des remboursements (CNAM-HR)",
)
FACILITY = ("SA24", codes.OID_FACILITY_TYPE, "Organisme de sécurité sociale")
PRACTICE = ("AMO", codes.OID_PRACTICE_SETTING, "Organisme d'assurance maladie obligatoire")
HISTORY_MONTHS = 24
INSURER_SOURCE_ID = "1.2.250.1.999.4"  # the Assurance Maladie's system (test arc)
_PARIS = dt.timezone(dt.timedelta(hours=1))

# --- the care history ----------------------------------------------------------------------


def demo_care_history(
    patient: PatientIdentity,
    today: dt.date,
    *,
    document_id: str,
    set_id: str,
    effective_time: dt.datetime,
    version: int = 1,
) -> CareHistory:
    """Léa MOREAU's care history over 24 months (medicines from the demo BDPM extract).

    Item dates are counted back from ``today``; the history covers the 24 months before
    ``effective_time`` (items after it are left out).
    """

    def ago(days: int) -> dt.date:
        return today - dt.timedelta(days=days)

    durand, pharmacy = "Dr Marie DURAND", "Pharmacie des Tilleuls"
    chu = "Centre hospitalier universitaire de Lyon Sud"
    lab = "Laboratoire de biologie médicale Biolyon"
    medicines = (
        DispensedMedicine(
            ago(40),
            "VENTOLINE 100 microgrammes/dose, suspension pour inhalation en flacon pressurisé",
            "64720167",
            "R03AC02",
            durand,
            pharmacy,
        ),
        DispensedMedicine(
            ago(44),
            "DOLIPRANE 1000 mg, comprimé",
            "60234100",
            "N02BE01",
            "Dr Paul MARTIN",
            pharmacy,
        ),
        DispensedMedicine(
            ago(95),
            "SERETIDE 250 microgrammes/25 microgrammes/dose, suspension pour inhalation",
            "61073237",
            "R03AK06",
            durand,
            pharmacy,
            2,
        ),
        DispensedMedicine(
            ago(300),
            "AERIUS 5 mg, comprimé pelliculé",
            "61833327",
            "R06AX27",
            "Dr Camille MOREL",
            pharmacy,
        ),
    )
    acts = (
        MedicalAct(
            ago(60),
            "Hémogramme (numération formule sanguine)",
            ActKind.BIOLOGY,
            "1104",
            "Dr Hélène GARNIER",
            lab,
        ),
        MedicalAct(ago(60), "Dosage de la TSH", ActKind.BIOLOGY, "1208", "Dr Hélène GARNIER", lab),
        MedicalAct(
            ago(240),
            "Électrocardiographie sur au moins 12 dérivations",
            ActKind.CARE,
            "DEQP003",
            "Dr Antoine ROUX",
            "Clinique du Parc",
        ),
        MedicalAct(
            ago(240),
            "Échographie-doppler transthoracique du cœur",
            ActKind.IMAGING,
            "DZQM006",
            "Dr Antoine ROUX",
            "Clinique du Parc",
        ),
        MedicalAct(
            ago(422),
            "Radiographie du thorax",
            ActKind.IMAGING,
            "ZBQK002",
            "Service d'imagerie",
            chu,
        ),
    )
    stays = (HospitalStay(ago(423), ago(420), "Hospitalisation complète en médecine interne", chu),)
    end = effective_time.date()
    return CareHistory(
        patient=patient,
        period_start=end - dt.timedelta(days=730),
        period_end=end,
        effective_time=effective_time,
        document_id=document_id,
        set_id=set_id,
        version=version,
        medicines=tuple(m for m in medicines if m.day <= end),
        acts=tuple(a for a in acts if a.day <= end),
        stays=tuple(s for s in stays if s.end <= end),
    )


def insurer_author() -> dict[str, Any]:
    """The Assurance Maladie's system as an XDS author (as the host stores it)."""
    return {
        "national_id": INSURER_AUTHOR_ID,
        "family_name": INSURER_NAME.upper(),
        "given_name": "",
        "specialty_code": ROLE_ALIM_AM,
        "specialty_display": ROLE_ALIM_AM_LABEL,
        "specialty_scheme": OID_NON_PS_ROLE,
        "institution": INSURER_NAME,
        "institution_id": INSURER_STRUCTURE_ID,
    }


def seed_care_history(
    store: Store,
    session: Session,
    patient: Patient,
    history: CareHistory,
    entry_uuid: str,
) -> DocumentRecord:
    """Put ``history`` in the store as if the Assurance Maladie had fed it (demo)."""
    from dmp_actors.patient_space import NewDocument, register_document

    at = history.effective_time
    start = dt.datetime.combine(history.first_care_day, dt.time(0, 0), _PARIS)
    doc = NewDocument(
        content=build_care_history(history),
        unique_id=history.document_id,
        entry_uuid=entry_uuid,
        title="Historique des soins remboursés",
        type_code=TYPE_CARE_HISTORY,
        class_code=(INSURER_CLASS, INSURER_CLASS_LABEL),
        format_code=CARE_HISTORY_FORMAT,
        authors=[insurer_author()],
        facility=FACILITY,
        practice=PRACTICE,
        at=at,
        service_start=start,
        service_stop=at,
        submitted=at.astimezone(dt.UTC),
        set_id=history.set_id,
        version=history.version,
        legal_authenticator=_xcn(),
    )
    return register_document(store, session, patient, doc)


def _xcn() -> str:
    return rim.xcn(INSURER_AUTHOR_ID, INSURER_NAME.upper(), "")


# --- the Assurance Maladie's system: credentials and the ITI-41 feed ---------------------------


@dataclass(frozen=True)
class InsurerCredentials:
    p12_path: Path
    passphrase: str


def ensure_credentials(env: TrainingEnv) -> InsurerCredentials:
    """The Assurance Maladie's structure certificate (created once in the environment)."""
    from dmp_sandbox.structures import StructureSpec, create_structure

    directory = env.root / "structures"
    p12 = directory / "assurance-maladie.p12"
    secret = directory / "assurance-maladie.passphrase"
    if p12.is_file() and secret.is_file():
        return InsurerCredentials(p12, secret.read_text(encoding="utf-8").strip())
    passphrase = secrets.token_urlsafe(18)
    create_structure(
        StructureSpec(INSURER_STRUCTURE_ID, INSURER_ORGANISATION), env.pki, p12, passphrase
    )
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(passphrase + "\n")
    return InsurerCredentials(p12, passphrase)


def build_feed_request(
    history: CareHistory,
    *,
    submission_time: dt.datetime,
    source_id: str,
) -> tuple[Element, list[MimePart]]:
    """The ITI-41 body and its MTOM part for ``history`` (no submission signature)."""
    content = build_care_history(history)
    author = rim.AuthorValues(
        person=_xcn(),
        institution=rim.xon(INSURER_NAME, INSURER_STRUCTURE_ID),
        specialty=rim.ce(Code(ROLE_ALIM_AM, ROLE_ALIM_AM_LABEL, OID_NON_PS_ROLE)),
    )
    start = dt.datetime.combine(history.first_care_day, dt.time(0, 0), _PARIS)
    submission = iti41.Submission(
        unique_id=new_oid(),
        source_id=source_id,
        submission_time=submission_time,
        author=author,
        structure=iti41.StructureInfo(
            id=INSURER_STRUCTURE_ID,
            name=INSURER_NAME,
            facility_type=Code(*_code(FACILITY)),
            practice_setting=Code(*_code(PRACTICE)),
        ),
        document=iti41.DocumentMetadata(
            unique_id=history.document_id,
            patient=history.patient.ins,
            title="Historique des soins remboursés",
            type_code=Code(TYPE_CARE_HISTORY, "Données de remboursement", "1.2.250.1.213.1.1.4.12"),
            class_code=Code(INSURER_CLASS, INSURER_CLASS_LABEL, "1.2.250.1.213.1.1.4.1"),
            format_code=Code(*_code(CARE_HISTORY_FORMAT)),
            creation_time=history.effective_time,
            service_start=start,
            service_stop=history.effective_time,
            confidentiality=(iti41.CONFIDENTIALITY_NORMAL,),
            source_patient_info=iti41.source_patient_info(
                history.patient.birth_family_name,
                history.patient.birth_given_names,
                history.patient.birth_date,
                history.patient.gender.value,
            ),
        ),
        content=content,
        signature_unique_id=new_oid(),
    )
    body, parts = iti41.build_request(submission, b"-")
    _drop_signature(body)
    return body, parts[:1]


def _code(value: tuple[str, str, str]) -> tuple[str, str, str]:
    code, scheme, label = value
    return code, label, scheme


def _drop_signature(body: Element) -> None:
    """No XAdES signature: remove its entry, its associations and its Document."""
    objects = body.find(f".//{{{RIM}}}RegistryObjectList")
    if objects is None:
        raise ValueError("not an ITI-41 request")
    for child in list(objects):
        refs = {child.get("id"), child.get("sourceObject"), child.get("targetObject")}
        if iti41.SIGNATURE_ID in refs:
            objects.remove(child)
    for document in body.findall(qn(XDSB, "Document")):
        if document.get("id") == iti41.SIGNATURE_ID:
            body.remove(document)


def insurer_vihf(ins: Ins, issuer_dn: str) -> Element:
    """The system's VIHF: structure mode, role ALIM_AM (to be signed by the caller)."""
    system = Practitioner(
        national_id=INSURER_AUTHOR_ID,
        family_name="Maladie",
        given_name="Assurance",
        profession="",
        structure_id=INSURER_STRUCTURE_ID,
        structure_name=INSURER_NAME,
    )
    assertion = build_vihf(
        VihfContext(
            practitioner=system,
            issuer_dn=issuer_dn,
            structure_id=INSURER_STRUCTURE_ID,
            activity_sector=FACILITY[0],
            auth_mode=AUTH_MODE_INDIRECT_STRONG,
            ins=ins,
        )
    )
    for attribute in assertion.iter(qn("urn:oasis:names:tc:SAML:2.0:assertion", "Attribute")):
        if attribute.get("Name") != ATTR_ROLE:
            continue
        for role in attribute.iter("{urn:hl7-org:v3}Role"):
            role.set("code", ROLE_ALIM_AM)
            role.set("codeSystem", OID_NON_PS_ROLE)
            role.set("displayName", ROLE_ALIM_AM_LABEL)
    return assertion


class InsurerSystem:
    """The Assurance Maladie's system talking to the training host (mutual TLS, ALIM_AM)."""

    def __init__(self, env: TrainingEnv, host_url: str, *, timeout: float = 30.0) -> None:
        from dmp_desktop.net.client import make_http_client
        from dmp_desktop.net.structure import load_structure

        credentials = ensure_credentials(env)
        self._structure = load_structure(credentials.p12_path, credentials.passphrase)
        self._settings = dataclasses.replace(
            env.client_settings(),
            host_url=host_url,
            auth_mode=AUTH_MODE_INDIRECT_STRONG,
            structure_id=INSURER_STRUCTURE_ID,
            read_timeout=timeout,
        )
        self._http = make_http_client(self._settings, self._structure.key)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> InsurerSystem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(
        self,
        service: str,
        action: str,
        body: Element,
        ins: Ins,
        parts: Sequence[MimePart] = (),
    ) -> SoapResponse:
        """One request with the system's signed VIHF; a refusal raises the typed error."""
        url = self._settings.service_url(service)
        assertion = insurer_vihf(ins, self._structure.subject_dn)
        sign_vihf(assertion, self._structure.key)
        envelope = build_envelope(body, action=action, to=url, security_tokens=[assertion])
        if parts:
            content_type, data = build_mtom(envelope.data, list(parts), action=action)
        else:
            content_type, data = envelope.content_type, envelope.data
        response = self._http.post(url, content=data, headers={"Content-Type": content_type})
        return read_http_response(
            response.status_code,
            response.headers.get("content-type"),
            response.content,
            relates_to=envelope.message_id,
        )

    def feed(self, history: CareHistory) -> str:
        """TD2.1: deposit ``history`` in the patient's DMP; returns its unique id."""
        body, parts = build_feed_request(
            history, submission_time=dt.datetime.now(dt.UTC), source_id=INSURER_SOURCE_ID
        )
        answer = self.call(iti41.SERVICE, iti41.ACTION, body, history.patient.ins, parts)
        iti41.parse_response(answer.body)
        return history.document_id


def feed(env: TrainingEnv, host_url: str, history: CareHistory) -> str:
    """Send ``history`` to the host at ``host_url`` as the Assurance Maladie (TD2.1)."""
    with InsurerSystem(env, host_url) as system:
        return system.feed(history)


# --- command line ----------------------------------------------------------------------------


def _cmd_feed(
    env_for: Callable[[argparse.Namespace], TrainingEnv],
    store_for: Callable[[argparse.Namespace], Store],
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from dmp_actors.demo_documents import patient_identity
        from dmp_sandbox.patient_cli import PatientError, parse_ins

        env = env_for(args)
        try:
            ins = parse_ins(args.ins)
            with store_for(args) as store, store.session() as session:
                patient = store.find_patient(session, ins.value, ins.oid)
                if patient is None:
                    raise PatientError("Patient inconnu de l'hôte de formation : vérifiez l'INS.")
                identity = patient_identity(patient)
            now = dt.datetime.now(_PARIS).replace(microsecond=0)
            document_id = new_oid()
            history = demo_care_history(
                identity,
                now.date(),
                document_id=document_id,
                set_id=f"{document_id}.0",
                effective_time=now,
            )
            if args.items:
                history = _history_from_json(history, Path(args.items))
            unique_id = feed(env, args.url or env.host_url, history)
        except PatientError as exc:
            print(str(exc), file=sys.stderr, flush=True)
            return 1
        except AmountRefusedError:
            print(
                "Refusé : un historique de soins ne contient jamais de montant remboursé.",
                file=sys.stderr,
                flush=True,
            )
            return 1
        except DmpDesktopError as exc:
            print(f"Alimentation refusée : {describe(exc)}", file=sys.stderr, flush=True)
            return 1
        print(
            f"Historique des soins remboursés déposé dans le DMP (identifiant {unique_id}).",
            flush=True,
        )
        return 0

    return run


def _history_from_json(base: CareHistory, path: Path) -> CareHistory:
    """Items from a JSON file: ``medicines``, ``acts``, ``stays`` (dates ``YYYY-MM-DD``)."""
    from dmp_sandbox.patient_cli import PatientError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        medicines = tuple(
            DispensedMedicine(
                dt.date.fromisoformat(m["date"]),
                m["label"],
                m.get("cis", ""),
                m.get("atc", ""),
                m.get("prescriber", ""),
                m.get("dispenser", ""),
                int(m.get("quantity", 1)),
            )
            for m in data.get("medicines", [])
        )
        acts = tuple(
            MedicalAct(
                dt.date.fromisoformat(a["date"]),
                a["label"],
                a.get("kind", ActKind.CARE),
                a.get("code", ""),
                a.get("performer", ""),
                a.get("place", ""),
            )
            for a in data.get("acts", [])
        )
        stays = tuple(
            HospitalStay(
                dt.date.fromisoformat(s["start"]),
                dt.date.fromisoformat(s["end"]),
                s["nature"],
                s.get("place", ""),
            )
            for s in data.get("stays", [])
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise PatientError(
            f"Fichier d'éléments illisible : {path} (JSON avec medicines, acts, stays)."
        ) from None
    days = [m.day for m in medicines] + [a.day for a in acts] + [s.start for s in stays]
    start = min([*days, base.period_end - dt.timedelta(days=30 * HISTORY_MONTHS)])
    return dataclasses.replace(
        base, medicines=medicines, acts=acts, stays=stays, period_start=start
    )


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    env_for: Callable[[argparse.Namespace], TrainingEnv],
    store_for: Callable[[argparse.Namespace], Store],
) -> None:
    """Add ``insurer feed`` to the ``dmp-sandbox`` parser."""
    insurer = commands.add_parser(
        "insurer", help="Assurance Maladie : alimenter le DMP (historique des soins remboursés)"
    )
    actions = insurer.add_subparsers(dest="insurer_command", metavar="ACTION", required=True)
    feed_parser = actions.add_parser(
        "feed",
        help="déposer l'historique des soins remboursés d'un patient (rôle ALIM_AM, TLS mutuel)",
    )
    feed_parser.add_argument("--ins", required=True, metavar="INS", help="INS du patient")
    feed_parser.add_argument(
        "--url", metavar="URL", help="adresse de l'hôte de formation (défaut : celle du dossier)"
    )
    feed_parser.add_argument(
        "--items",
        metavar="FICHIER.json",
        help="éléments de l'historique (medicines, acts, stays) ; défaut : ceux de la démo",
    )
    # The environment gives the test PKI (the insurer's certificate lives there); the
    # database, where the patient's identity traits are read, may be another one.
    feed_parser.add_argument(
        "--dir",
        metavar="DOSSIER",
        help="dossier de l'environnement de formation "
        "(défaut : $DMP_TRAINING_DIR ou ~/.local/share/dmp-desktop/training)",
    )
    feed_parser.add_argument(
        "--db", metavar="URL", help="base de l'hôte (défaut : host.db du dossier)"
    )
    feed_parser.set_defaults(func=_cmd_feed(env_for, store_for))


__all__ = [
    "check_insurer_role",
    "demo_care_history",
    "ensure_credentials",
    "feed",
    "grant_insurer_feed",
    "register",
    "seed_care_history",
]
