"""The host's logic, without HTTP: one SOAP request in, one SOAP answer (or fault) out.

:class:`DmpHost` is synchronous and runs on a worker thread of the HTTP
server; it never logs patient data (logs carry message ids, transaction
codes and outcomes only).
"""

from __future__ import annotations

import datetime as dt
import email.message
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from dmp_desktop.domain.patient import Ins
from dmp_sandbox import (
    admin_data,
    alimentation,
    block_on_behalf,
    consultation,
    habilitations,
    patient_lists,
    patients,
    records,
    updates,
    xds,
)
from dmp_sandbox.auth import CertIdentity, read_vihf
from dmp_sandbox.mtom import MtomRefused, build_mtom, parse_mtom
from dmp_sandbox.schemas import OfficialSchemas, process_schemas
from dmp_sandbox.soap import (
    FaultCode,
    OperationAnswer,
    SoapFault,
    SoapRequest,
    fault_envelope,
    invalid,
    read_envelope,
    response_envelope,
)
from dmp_sandbox.store import Store, utcnow
from dmp_sandbox.vihf import VihfClaims, cx_parts
from dmp_sandbox.vihf_verify import SignerTrust, authenticate
from dmp_sandbox.wire import (
    ACTION_TD02,
    ACTION_TD02_RESPONSE,
    HL7,
    MULTIPART_RELATED,
    SOAP12_CONTENT_TYPE,
)
from dmp_sandbox.xades_verify import SignaturePolicy

log = logging.getLogger("dmp_sandbox.host")

MiB = 1024 * 1024
MTOM_DOMAIN = "dmp.formation"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    max_body: int  # bytes; larger bodies get HTTP 413
    mtom: bool = False  # accepts MTOM (multipart/related) requests


# The DMP's services (dmp-wire.md); operations are registered below.
SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec("patients", 1 * MiB),
        ServiceSpec("habilitations", 1 * MiB),
        ServiceSpec("patientsSpecific", 1 * MiB),
        ServiceSpec("patientsPDQ", 1 * MiB),
        ServiceSpec("registry", 4 * MiB),
        ServiceSpec("repository", 64 * MiB, mtom=True),
    )
}
SERVICE_PATH_PREFIX = "/si-dmp-server/v2/services/"


@dataclass
class TraceContext:
    """What the trace row of one request will say; filled as handling goes."""

    at: dt.datetime = field(default_factory=utcnow)
    professional_national_id: str | None = None
    patient_ins: str | None = None
    patient_ins_root: str | None = None
    service: str | None = None
    transaction: str | None = None
    action: str | None = None
    outcome: str | None = None
    result: str | None = None
    http_status: int | None = None
    message_id: str | None = None
    remote_address: str | None = None
    # Consultation: access mode, emergency reason, documents returned.
    purpose: str | None = None
    reason: str | None = None
    document_count: int | None = None
    document_unique_id: str | None = None
    structure_id: str | None = None  # structure mode: the structure acted for
    # Not a column: the row is written already (with the answer, dmp_sandbox.server._answer).
    written: bool = False

    def row(self) -> dict[str, object]:
        def cut(value: str | None, size: int) -> str | None:
            return value[:size] if value is not None else None

        return {
            "at": self.at,
            "professional_national_id": cut(self.professional_national_id, 64),
            "patient_ins": cut(self.patient_ins, 15),
            "patient_ins_root": cut(self.patient_ins_root, 64),
            "service": cut(self.service, 32),
            "transaction": cut(self.transaction, 16),
            "action": cut(self.action, 255),
            "outcome": cut(self.outcome or "?", 64),
            "result": cut(self.result, 64),
            "http_status": self.http_status or 0,
            "message_id": cut(self.message_id, 255),
            "remote_address": cut(self.remote_address, 64),
            "purpose": cut(self.purpose, 32),
            "reason": cut(self.reason, 500),
            "document_count": self.document_count,
            "document_unique_id": cut(self.document_unique_id, 255),
            "structure_id": cut(self.structure_id, 64),
        }


@dataclass
class HostResponse:
    status: int
    body: bytes
    action: str | None = None
    # A complete Content-Type (MTOM answers); else SOAP 1.2 with the action.
    media_type: str | None = None

    @property
    def content_type(self) -> str:
        if self.media_type is not None:
            return self.media_type
        ct = f"{SOAP12_CONTENT_TYPE}; charset=utf-8"
        return f'{ct}; action="{self.action}"' if self.action else ct


@dataclass
class OperationContext:
    store: Store
    identity: CertIdentity
    vihf: VihfClaims
    request: SoapRequest
    trace: TraceContext
    signatures: SignaturePolicy | None = None  # how submission signatures are checked


@dataclass(frozen=True)
class Operation:
    service: str
    action: str
    transaction: str | None
    response_action: str
    run: Callable[[OperationContext], etree._Element | OperationAnswer]
    # Extra namespace declarations on the answer's envelope (as the official answers).
    envelope_ns: dict[str, str] = field(default_factory=dict)


def content_type_info(header: str | None) -> tuple[str | None, str | None]:
    """(media type, action parameter) of a Content-Type header."""
    if not header:
        return None, None
    return _content_type_info(header)


@functools.lru_cache(maxsize=256)
def _content_type_info(header: str) -> tuple[str | None, str | None]:
    """:func:`content_type_info`, once per distinct header (clients send the same few)."""
    msg = email.message.Message()
    msg["Content-Type"] = header
    action = msg.get_param("action")
    return msg.get_content_type().lower(), action if isinstance(action, str) else None


def _check_resource_id(vihf: VihfClaims, ins: Ins) -> None:
    if vihf.resource_id is None:
        return
    if vihf.ins_value != ins.value or (vihf.ins_root is not None and vihf.ins_root != ins.oid):
        raise invalid(
            "Le patient désigné par le jeton VIHF (resource-id) n'est pas celui de la requête."
        )


def _prpa_201307(ctx: OperationContext) -> etree._Element:
    payload = ctx.request.payload
    reason = patients.read_reason(payload)
    if reason == admin_data.td13.REASON_READ:
        return admin_data.read_admin_data(ctx)
    if reason != patients.REASON_TEST_EXISTENCE:
        ctx.trace.transaction = None
        raise invalid("Motif (reasonCode) non pris en charge par l'hôte de formation.")
    request = patients.read_td02(payload)
    ctx.trace.patient_ins, ctx.trace.patient_ins_root = request.ins.value, request.ins.oid
    _check_resource_id(ctx.vihf, request.ins)
    result = patients.lookup(ctx.store, request.ins, ctx.identity.national_id, ctx.identity)
    ctx.trace.result = result.trace_result
    return patients.build_td02_answer(request, result)


OPERATIONS: dict[tuple[str, str], Operation] = {
    (op.service, op.action): op
    for op in (
        Operation(
            "patients",
            ACTION_TD02,
            "TD0.2",
            ACTION_TD02_RESPONSE,
            _prpa_201307,
            {"ns1": patients.PATIENTS_SERVICE_NS},
        ),
        Operation(
            "patients",
            records.td11.ACTION_CREATE,
            "TD1.1",
            records.td11.ACTION_CREATE_RESPONSE,
            records.create_dmp,
            {"ns1": records.PATIENTS_SERVICE_NS},
        ),
        Operation(
            "patients",
            records.td12_14.ACTION_REVISE,
            "TD1.4",  # TD1.2 for a reactivation, TD1.3b for MODIF_DATA
            records.td12_14.ACTION_REVISE_RESPONSE,
            admin_data.revise,
            {"ns1": records.PATIENTS_SERVICE_NS},
        ),
        Operation(
            "habilitations",
            records.td16.ACTION_LIST,
            "TD1.6",
            records.td16.ACTION_LIST_RESPONSE,
            records.list_authorizations,
            {"ns1": records.HABILITATIONS_NS},
        ),
        # Training extension: the médecin traitant blocks a professional for the patient.
        *(
            Operation(
                "habilitations",
                action,
                transaction,
                f"{action}Response",
                run,
                {"ns1": block_on_behalf.NS},
            )
            for action, transaction, run in (
                (
                    block_on_behalf.td16_block.ACTION_BLOCK,
                    block_on_behalf.TRANSACTION_BLOCK,
                    block_on_behalf.block_professional,
                ),
                (
                    block_on_behalf.td16_block.ACTION_UNBLOCK,
                    block_on_behalf.TRANSACTION_UNBLOCK,
                    block_on_behalf.unblock_professional,
                ),
            )
        ),
        *(
            Operation(
                "patientsSpecific",
                action,
                transaction,
                response,
                run,
                {"ns1": admin_data.PATIENTS_NS},
            )
            for action, transaction, response, run in (
                (
                    admin_data.td15.ACTION_CREATE,
                    "TD1.5a",
                    admin_data.td15.ACTION_CREATE_RESPONSE,
                    admin_data.create_access,
                ),
                (
                    admin_data.td15.ACTION_OTP,
                    "TD1.5b",
                    admin_data.td15.ACTION_OTP_RESPONSE,
                    admin_data.update_otp,
                ),
                (
                    admin_data.td15.ACTION_UPDATE,
                    "TD1.5d",
                    admin_data.td15.ACTION_UPDATE_RESPONSE,
                    admin_data.renew_access,
                ),
            )
        ),
        # TD0.4 and TD0.5: the professional's DMP patients, the search without INS (#14).
        Operation(
            "patientsSpecific",
            patient_lists.ACTION_TD04,
            "TD0.4",
            patient_lists.ACTION_TD04_RESPONSE,
            patient_lists.list_authorised,
            {"ns1": patient_lists.PATIENTS_NS},
        ),
        Operation(
            "patientsPDQ",
            patient_lists.ACTION_TD05,
            "TD0.5",
            patient_lists.ACTION_TD05_RESPONSE,
            patient_lists.search_patients,
            {"ns1": patient_lists.PATIENTS_NS},
        ),
        Operation(
            "registry",
            xds.ACTION_ITI18,
            "TD3.1",
            xds.ACTION_ITI18_RESPONSE,
            consultation.find_documents,
        ),
        Operation(
            "repository",
            xds.ACTION_ITI43,
            "TD3.2",
            xds.ACTION_ITI43_RESPONSE,
            consultation.retrieve_documents,
        ),
        Operation(
            "habilitations",
            habilitations.ACTION_SET_AUTHORIZATION,
            "TD0.3",
            habilitations.ACTION_SET_AUTHORIZATION_RESPONSE,
            habilitations.set_authorization,
            {"ns1": habilitations.HABILITATIONS_NS},
        ),
        Operation(
            "repository",
            alimentation.ACTION_ITI41,
            "TD2.1",
            alimentation.ACTION_ITI41_RESPONSE,
            alimentation.provide_and_register,
        ),
        Operation(
            "registry",
            updates.ACTION_ITI57,
            "TD3.3",  # TD3.3a…d once the operation knows what is changed
            updates.ACTION_ITI57_RESPONSE,
            updates.update_document_set,
        ),
    )
}


def _peek_patient(payload: etree._Element, trace: TraceContext) -> None:
    """Best effort, for the trace of a refused request: the patient named in the body."""
    value = payload.find(f".//{{{HL7}}}patientIdentifier/{{{HL7}}}value")
    if value is not None:
        trace.patient_ins = value.get("extension")
        trace.patient_ins_root = value.get("root")
        return
    for slot in payload.iterfind(f".//{{{xds.RIM}}}Slot[@name='{xds.P_PATIENT}']"):
        raw = slot.findtext(f"{{{xds.RIM}}}ValueList/{{{xds.RIM}}}Value") or ""
        ident, root = cx_parts(raw.strip().strip("'"))
        trace.patient_ins, trace.patient_ins_root = ident or None, root
        return


def _peek_vihf_patient(vihf: VihfClaims, trace: TraceContext) -> None:
    if trace.patient_ins is None and vihf.ins_value is not None:
        trace.patient_ins, trace.patient_ins_root = vihf.ins_value, vihf.ins_root


class DmpHost:
    def __init__(
        self,
        store: Store,
        vihf_trust: SignerTrust | None = None,
        signatures: SignaturePolicy | None = None,
        schemas: OfficialSchemas | None = None,
    ) -> None:
        self.store = store
        # The official schemas every request body is validated against, first.
        self.schemas = schemas or process_schemas()
        self.vihf_trust = vihf_trust  # CAs a signed (structure-mode) VIHF must chain to
        # CAs a submission's signer (TD2.1) must chain to; see dmp_sandbox.xades_verify.
        self.signatures = signatures

    def handle(
        self,
        service: str,
        content_type: str | None,
        body: bytes,
        identity: CertIdentity | None,
        trace: TraceContext,
    ) -> HostResponse:
        """Answer one request; never raises (faults are answers)."""
        relates_to: str | None = None
        try:
            spec = SERVICES[service]
            media, ct_action = content_type_info(content_type)
            attachments = None
            if media == MULTIPART_RELATED and spec.mtom:
                try:
                    attachments = parse_mtom(content_type or "", body)
                except MtomRefused:
                    raise invalid("Message MTOM (multipart/related) mal formé.") from None
                body = attachments.root
            request = read_envelope(body, ct_action, max_bytes=spec.max_body)
            request.attachments = attachments
            relates_to = request.message_id
            trace.message_id = request.message_id
            trace.action = request.action
            problem = self.schemas.validate(request.payload)
            if problem is not None:  # the official schema decides, before anything else
                trace.result = "SCHEMA"
                raise invalid(problem.message)
            operation = OPERATIONS.get((service, request.action))
            if operation is None:
                raise invalid("Action non prise en charge par ce service.")
            trace.transaction = operation.transaction
            _peek_patient(request.payload, trace)
            if identity is None:
                raise SoapFault(
                    FaultCode.AUTHENTICATION, "Certificat d'authentification inexploitable."
                )
            vihf = read_vihf(request.security, trace)
            _peek_vihf_patient(vihf, trace)
            identity = authenticate(identity, vihf, request.security, self.vihf_trust, trace)
            if identity.via_structure:  # the card holder the structure's signed VIHF names
                self.store.seen_professional(
                    identity.national_id,
                    family_name=identity.family_name,
                    given_name=identity.given_name,
                    profession=identity.profession,
                    profession_code=identity.profession_code,
                    structure_id=identity.structure_id,
                )
            answer = operation.run(
                OperationContext(self.store, identity, vihf, request, trace, self.signatures)
            )
            if not isinstance(answer, OperationAnswer):
                answer = OperationAnswer(answer)
            data = response_envelope(
                operation.response_action,
                answer.payload,
                relates_to,
                operation.envelope_ns,
                spliced=answer.spliced,
            )
            # An operation that answered a business refusal has set the outcome already.
            trace.outcome = trace.outcome or "OK"
            log.info(
                "%s %s -> %s", trace.transaction, trace.message_id, trace.result or trace.outcome
            )
            if answer.attachments:
                media_type, data = build_mtom(
                    data,
                    answer.attachments,
                    action=operation.response_action,
                    root_content_id=f"root.message@{MTOM_DOMAIN}",
                )
                return HostResponse(200, data, operation.response_action, media_type)
            return HostResponse(200, data, operation.response_action)
        except SoapFault as fault:
            return self.fault(fault, trace, relates_to)
        except Exception:
            log.exception("internal error (%s %s)", trace.transaction, trace.message_id)
            return self.fault(
                SoapFault(FaultCode.INTERNAL, "Erreur interne de l'hôte de formation."),
                trace,
                relates_to,
            )

    @staticmethod
    def fault(fault: SoapFault, trace: TraceContext, relates_to: str | None = None) -> HostResponse:
        trace.outcome = fault.code.value
        log.info("%s %s -> fault %s", trace.transaction, trace.message_id, fault.code.value)
        return HostResponse(fault.http_status, fault_envelope(fault, relates_to))
