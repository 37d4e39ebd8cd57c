"""Training extension: the médecin traitant DMP blocks or unblocks a professional for the patient.

Not an official DMP operation (the official ``setAuthorization`` only acts on
the caller's own authorisation): a separate training namespace on the
``habilitations`` endpoint, read by the client (``dmp_desktop/dmp/td16_block.py``)
(docs/wire-conventions.md). Rules, enforced here:

- the caller is a health professional whose authorisation on the patient's
  record is valid and who is the patient's médecin traitant DMP; anyone else
  gets ``DMPAccessDenied``;
- the record exists (``DMPNotFound``) and is open (``DMPClosed``);
- the médecin traitant can never be blocked, by themselves either:
  ``DMPTreatingPhysicianProtected``;
- blocking writes the ``INTERDIT`` authorisation the patient's own block
  writes (the blocked professional is refused everything, emergency access
  included); unblocking removes it. Doing it twice changes nothing and succeeds.

Each request is traced (transactions ``MT-BLOCK`` / ``MT-UNBLOCK``, the target's
national id as result), so that ``dmp-sandbox patient history`` lists it, and
the patient is told in the outbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from dmp_sandbox import xds
from dmp_sandbox.access import required_vihf_patient
from dmp_sandbox.hl7v3 import td16_block
from dmp_sandbox.soap import invalid
from dmp_sandbox.store import AuthorizationStatus, DmpState, Professional, utcnow

if TYPE_CHECKING:
    from dmp_sandbox.host import OperationContext

NS = td16_block.TRAINING_NS
TRANSACTION_BLOCK = "MT-BLOCK"
TRANSACTION_UNBLOCK = "MT-UNBLOCK"
STATUS_OK = "DMPOk"
OUTBOX_BLOCKED = "PS_BLOQUE"
OUTBOX_UNBLOCKED = "PS_DEBLOQUE"
_PARIS = ZoneInfo("Europe/Paris")


class _Refusal(Exception):
    def __init__(self, code: str, context: str) -> None:
        super().__init__(code)
        self.code = code
        self.context = context


def _answer(op: str, status: str, context: str) -> etree._Element:
    response = etree.Element(f"{{{NS}}}{op}Response", nsmap={"ns1": NS})
    output = etree.SubElement(response, f"{{{NS}}}output")
    etree.SubElement(output, f"{{{NS}}}status").text = status
    etree.SubElement(output, f"{{{NS}}}context").text = context
    return response


def _name(session: Session, national_id: str) -> str:
    pro = session.scalars(
        select(Professional).where(Professional.national_id == national_id)
    ).one_or_none()
    if pro is not None and pro.family_name:
        title = "Dr " if pro.profession_code == "10" else ""
        return f"{title}{pro.given_name.title()} {pro.family_name.upper()}".strip()
    return f"le professionnel {national_id}"


def block_professional(ctx: OperationContext) -> etree._Element:
    return _handle(ctx, block=True)


def unblock_professional(ctx: OperationContext) -> etree._Element:
    return _handle(ctx, block=False)


def _handle(ctx: OperationContext, *, block: bool) -> etree._Element:
    op = td16_block.OP_BLOCK if block else td16_block.OP_UNBLOCK
    ctx.trace.transaction = TRANSACTION_BLOCK if block else TRANSACTION_UNBLOCK
    payload = ctx.request.payload
    if payload.tag != f"{{{NS}}}{op}":
        raise invalid(f"Corps inattendu : {op} ({NS}) attendu.")
    target = (payload.findtext(f"{{{NS}}}nationalId") or "").strip()
    if not target or len(target) > 64:
        raise invalid("Identifiant national du professionnel (nationalId) absent ou invalide.")
    ctx.trace.result = target
    ins = required_vihf_patient(ctx)
    try:
        context = _apply(ctx, ins.value, ins.oid, target, block)
    except _Refusal as refusal:
        ctx.trace.outcome = refusal.code
        return _answer(op, refusal.code, refusal.context)
    return _answer(op, STATUS_OK, context)


def _apply(ctx: OperationContext, ins_value: str, ins_root: str, target: str, block: bool) -> str:
    store = ctx.store
    caller = ctx.identity.national_id
    with store.session() as session:
        patient = store.find_patient(session, ins_value, ins_root)
        if patient is None or patient.state is DmpState.NONE or patient.purged_at is not None:
            raise _Refusal(xds.DMP_NOT_FOUND, "Ce patient n'a pas de DMP.")
        if patient.state is DmpState.CLOSED:
            raise _Refusal(xds.DMP_CLOSED, "Le DMP de ce patient est fermé.")
        own = store.find_authorization(session, patient, caller)
        treating = (
            ctx.identity.profession_code is not None
            and own is not None
            and own.treating_physician
            and own.effective_status() is AuthorizationStatus.VALIDE
        )
        if not treating:
            raise _Refusal(
                xds.DMP_ACCESS_DENIED,
                "Seul le médecin traitant DMP du patient peut bloquer ou débloquer un "
                "professionnel en son nom.",
            )
        auth = store.find_authorization(session, patient, target)
        name = _name(session, target)
        if block and (
            target == caller
            or (
                auth is not None
                and auth.treating_physician
                and auth.effective_status() is AuthorizationStatus.VALIDE
            )
        ):
            raise _Refusal(
                td16_block.TREATING_PHYSICIAN_PROTECTED,
                "Le médecin traitant DMP du patient ne peut pas être bloqué.",
            )
        blocked = auth is not None and auth.status == AuthorizationStatus.INTERDIT.value
        when = utcnow().astimezone(_PARIS)
        if block:
            if blocked:
                ctx.trace.result = f"DEJA/{target}"[:64]
                return f"{name} est déjà bloqué : rien n'a changé."
            store.set_authorization(session, patient, target, AuthorizationStatus.INTERDIT)
            store.notify_patient(
                session,
                patient,
                OUTBOX_BLOCKED,
                f"À votre demande, {_name(session, caller)}, votre médecin traitant, a bloqué "
                f"l'accès de {name} à votre DMP le {when:%d/%m/%Y}.",
                professional_national_id=caller,
            )
            return (
                f"{name} est bloqué : il ne peut plus accéder au DMP du patient, même en urgence."
            )
        if not blocked:
            ctx.trace.result = f"DEJA/{target}"[:64]
            return f"{name} n'est pas bloqué : rien n'a changé."
        if auth is not None:
            session.delete(auth)
        store.notify_patient(
            session,
            patient,
            OUTBOX_UNBLOCKED,
            f"À votre demande, {_name(session, caller)}, votre médecin traitant, a levé le blocage "
            f"de {name} sur votre DMP le {when:%d/%m/%Y}.",
            professional_national_id=caller,
        )
        return f"{name} est débloqué : il pourra accéder au DMP quand le patient l'y autorisera."
