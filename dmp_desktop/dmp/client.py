"""The DMP client: typed calls over one httpx client. Plain Python, no Qt.

Safe to call from worker threads (it keeps no per-call state). Every failure
comes out as a :class:`~dmp_desktop.errors.DmpDesktopError` subclass; logs
carry the WS-Addressing message id and timings, never an INS, a name or a body.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.cda.header import card_holder_code
from dmp_desktop.cda.xmlutil import new_oid
from dmp_desktop.dmp import (
    insi,
    iti41,
    iti57,
    ns,
    rim,
    td03,
    td04,
    td05,
    td11,
    td12_14,
    td13,
    td15,
    td16,
    td16_block,
    xades,
    xds,
)
from dmp_desktop.dmp.feed_errors import (
    DocumentStatusError,
    ForbiddenVisibilityError,
    NotAuthorError,
)
from dmp_desktop.dmp.mtom import MtomMessage, build_mtom, is_multipart, parse_mtom
from dmp_desktop.dmp.soap import (
    SoapRequest,
    SoapResponse,
    build_envelope,
    envelope_bytes,
    is_xml_media,
    parse_envelope,
    read_http_response,
)
from dmp_desktop.dmp.td02 import build_td02_request, parse_td02_response
from dmp_desktop.dmp.vihf import (
    ATTR_PURPOSE_OF_USE,
    AUTH_MODE_DIRECT,
    AUTH_MODE_INDIRECT_STRONG,
    PURPOSE_BREAK_GLASS,
    PURPOSE_CENTRE_15,
    PURPOSE_LABELS,
    LpsInfo,
    VihfContext,
    build_vihf,
    practitioner_dn,
)
from dmp_desktop.dmp.vihf_signature import SigningKey, sign_vihf
from dmp_desktop.dmp.xmlutil import Element, children, qn
from dmp_desktop.domain import DmpStatus, Ins, Practitioner
from dmp_desktop.domain.admin_data import AdministrativeData, OnlineAccessCredentials
from dmp_desktop.domain.document import (
    Code,
    DocumentEntry,
    DocumentQuery,
    DocumentStatus,
    RetrievedDocument,
)
from dmp_desktop.errors import (
    TLS_CHAIN,
    TLS_EXPIRED,
    TLS_NAME,
    CardNotRecognisedError,
    ClientCertificateRejectedError,
    DmpDesktopError,
    DmpProtocolError,
    HostCertificateError,
    HostUnreachableError,
    SettingsError,
    TimeoutError_,
    TrainingOnlyError,
)
from dmp_desktop.identity.traits import TraitsQuery
from dmp_desktop.settings import Settings, is_placeholder_homologation
from dmp_desktop.storage.audit import EmergencyJournal

log = logging.getLogger(__name__)

# This software's OID (a UUID-derived OID under 2.25, ITU-T X.667): sender
# device id; message ids are <oid>.1.1, query ids <oid>.2. Override with
# settings.extra["lps_oid"] once an OID is assigned by the homologation.
# (UUID 47ec6c65-902d-4deb-86e6-da7e1e0ba503)
DEFAULT_LPS_OID = "2.25.95602768306245465660688465239265223939"

# Emergency access: the reason the professional typed travels in the VIHF, in
# this string attribute placed right after the purpose of use. No public DMP
# material names where the reason goes: this is the training host's
# convention (docs/wire-conventions.md).
# Training-only (« Formation » profile): no official form carries the reason.
ATTR_EMERGENCY_REASON = "Motif_Acces_Urgence"
EMERGENCY_PURPOSES = (PURPOSE_BREAK_GLASS, PURPOSE_CENTRE_15)
MAX_REASON_LEN = 500

_CLIENT_CERT_ALERTS = (
    "BAD_CERTIFICATE",
    "CERTIFICATE_REQUIRED",
    "UNKNOWN_CA",
    "CERTIFICATE_UNKNOWN",
    "CERTIFICATE_REVOKED",
    "CERTIFICATE_EXPIRED",
    "ACCESS_DENIED",
)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from (bounded)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 16:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _verify_reason(verify_message: str) -> str:
    """The code (``TLS_*``) of an OpenSSL verification failure, from its message."""
    lowered = verify_message.lower()
    if "expired" in lowered or "not yet valid" in lowered:
        return TLS_EXPIRED
    if "mismatch" in lowered:
        return TLS_NAME
    return TLS_CHAIN


def translate_http_error(exc: BaseException) -> DmpDesktopError:
    """httpx (or socket / TLS) failure -> the core's typed error (a typed cause wins)."""
    chain = _causes(exc)
    for cause in chain:
        if isinstance(cause, DmpDesktopError):
            return cause
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            message = str(getattr(cause, "verify_message", None) or "certificate not trusted")
            return HostCertificateError(_verify_reason(message), message)
        if isinstance(cause, ssl.SSLError):
            reason = str(getattr(cause, "reason", None) or "").upper()
            if reason.startswith(("TLSV1_ALERT_", "SSLV3_ALERT_", "TLSV13_ALERT_")) and any(
                alert in reason for alert in _CLIENT_CERT_ALERTS
            ):
                return ClientCertificateRejectedError()
    if isinstance(exc, httpx.TimeoutException):
        return TimeoutError_()
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return SettingsError("settings.host_url_invalid")
    if isinstance(exc, httpx.TransportError | OSError):
        return HostUnreachableError(type(exc).__name__)
    return DmpProtocolError(type(exc).__name__)


class DmpClient:
    """Transactions with the DMP host, one method per transaction."""

    def __init__(
        self,
        http: httpx.Client,
        settings: Settings,
        practitioner: Practitioner,
        issuer_dn: str | None = None,
        *,
        owns_http: bool = True,
        vihf_signer: SigningKey | None = None,
        journal: EmergencyJournal | None = None,
    ) -> None:
        self._http = http
        # Where an emergency access and its reason are kept (storage/audit.py).
        self._journal = journal
        # Minors' INS for which the professional declared a secret connection.
        self._secret_connections: set[str] = set()
        self._settings = settings
        self._practitioner = practitioner
        # Direct mode: the issuer is the card certificate's subject. Without
        # it, a DN rebuilt from the holder stands in (same layout).
        self._issuer_dn = issuer_dn or practitioner_dn(practitioner)
        self._owns_http = owns_http
        # INDIRECTE_RENFORCEE: the structure's key signs every VIHF (dmp/vihf_signature.py).
        self._vihf_signer = vihf_signer
        self._lps = LpsInfo.from_settings(settings)
        extra = settings.extra or {}
        self._lps_oid = str(extra.get("lps_oid", DEFAULT_LPS_OID))

    @property
    def practitioner(self) -> Practitioner:
        return self._practitioner

    # --- transactions -------------------------------------------------------------------------

    def test_existence(
        self, ins: Ins, purpose: str = "normal", *, reason: str | None = None
    ) -> DmpStatus:
        """TD0.2: does ``ins`` have a DMP, and may this practitioner access it?

        ``purpose`` is the VIHF purpose of use: ``normal``, ``bris_de_glace``
        or ``centre_15`` (anything else is a programming error: ValueError);
        ``reason``: the emergency access reason, when there is one already.
        """
        url = self._settings.service_url("patients")
        body = build_td02_request(ins, sender_oid=self._lps_oid, sender_name=self._lps.name)
        request = build_envelope(
            body,
            action=ns.ACTION_TD02,
            to=url,
            security_tokens=[self._vihf(ins, purpose, reason, transaction="TD0.2")],
        )
        answer = self._call(url, request, expected_action=ns.ACTION_TD02_RESPONSE, name="TD0.2")
        return parse_td02_response(answer.body, requested=ins)

    def declare_secret_connection(self, status: DmpStatus, secret: bool = True) -> None:
        """At a minor's request, access their DMP secretly from now on (``secret``).

        Every later request about this patient carries the VIHF confidentiality
        code ``INVISIBLE_REPRESENTANTS_LEGAUX``: what is done stays invisible to
        the legal representatives. Only for a minor (TD0.2's ``status``):
        ValueError otherwise.
        """
        if secret and not status.minor:
            raise ValueError("a secret connection is for a minor's DMP only")
        key = status.ins.value
        if secret:
            self._secret_connections.add(key)
        else:
            self._secret_connections.discard(key)

    def use_secret_connections(self, registry: set[str]) -> None:
        """Share the set of INS values accessed secretly (see :meth:`declare_secret_connection`).

        The window keeps one set per card session, so that a declaration
        survives a new client (a cancelled exchange opens a new connection).
        """
        self._secret_connections = registry

    def set_authorization(
        self, ins: Ins, *, grant: bool = True, treating_physician: bool = False
    ) -> None:
        """TD0.3: add (``grant``) or remove my authorisation on ``ins``'s DMP.

        With ``treating_physician``, the request carries the role
        ``MEDECIN_TRAITANT``: granting declares me médecin traitant DMP,
        revoking withdraws that declaration. Only call this after the
        professional explicitly recorded the patient's consent.
        """
        url = self._settings.service_url(td03.SERVICE)
        body = td03.build_set_authorization(grant=grant, treating_physician=treating_physician)
        request = build_envelope(
            body,
            action=td03.ACTION_SET_AUTHORIZATION,
            to=url,
            security_tokens=[self._vihf(ins, "normal")],
        )
        answer = self._call(
            url, request, expected_action=td03.ACTION_SET_AUTHORIZATION_RESPONSE, name="TD0.3"
        )
        td03.parse_set_authorization_response(answer.body)

    def create_dmp(
        self, ins: Ins, identity: td11.PatientIdentity, consent: td11.CreationConsent
    ) -> td11.RegistrationResult:
        """TD1.1: open ``ins``'s DMP. Without the recorded consent nothing is sent
        (:class:`~dmp_desktop.dmp.td11.ConsentError`); ``DMPFound`` if it exists."""
        body = td11.build_td11_request(
            ins,
            identity,
            consent,
            self._practitioner,
            sender_oid=self._lps_oid,
            sender_name=self._lps.name,
        )
        answer = self._patients_call(ins, body, td11.ACTION_CREATE, td11.ACTION_CREATE_RESPONSE)
        return td11.parse_td11_response(answer.body)

    def close_dmp(
        self,
        ins: Ins,
        family_name: str,
        given_name: str,
        *,
        reason: str = td12_14.CLOSURE_PATIENT_REQUEST,
        reason_text: str | None = None,
        gender: str | None = None,
    ) -> td11.RegistrationResult:
        """TD1.4: close ``ins``'s DMP (``DMPClosed`` if it is closed already).

        ``gender`` (TD0.2's ``administrativeGenderCode``) gives the name's ``prefix``
        the official request carries.
        """
        body = td12_14.build_td14_request(
            ins,
            family_name,
            given_name,
            self._practitioner,
            sender_oid=self._lps_oid,
            sender_name=self._lps.name,
            reason=reason,
            reason_text=reason_text,
            gender=gender,
        )
        answer = self._patients_call(
            ins, body, td12_14.ACTION_REVISE, td12_14.ACTION_REVISE_RESPONSE
        )
        return td12_14.parse_td14_response(answer.body)

    def reactivate_dmp(
        self, ins: Ins, family_name: str, given_name: str, gender: str | None = None
    ) -> td11.RegistrationResult:
        """TD1.2: reactivate ``ins``'s closed DMP (``gender``: see :meth:`close_dmp`)."""
        body = td12_14.build_td14_request(
            ins,
            family_name,
            given_name,
            self._practitioner,
            sender_oid=self._lps_oid,
            sender_name=self._lps.name,
            close=False,
            gender=gender,
        )
        answer = self._patients_call(
            ins, body, td12_14.ACTION_REVISE, td12_14.ACTION_REVISE_RESPONSE
        )
        return td12_14.parse_td14_response(answer.body)

    def list_authorizations(
        self, ins: Ins, mode: str = td16.MODE_ALL
    ) -> list[td16.PatientAuthorization]:
        """TD1.6: the professionals authorised on (or blocked from) ``ins``'s DMP."""
        url = self._settings.service_url(td16.SERVICE)
        request = build_envelope(
            td16.build_list_request(mode),
            action=td16.ACTION_LIST,
            to=url,
            security_tokens=[self._vihf(ins, "normal")],
        )
        answer = self._call(url, request, expected_action=td16.ACTION_LIST_RESPONSE, name="TD1.6")
        return td16.parse_list_response(answer.body)

    def set_professional_blocked(self, ins: Ins, national_id: str, *, blocked: bool) -> str:
        """Training extension (:mod:`~dmp_desktop.dmp.td16_block`): as ``ins``'s médecin
        traitant DMP, block (``blocked``) or unblock the professional ``national_id`` on
        the patient's behalf. Returns the host's French context."""
        if not self._settings.is_training:
            raise TrainingOnlyError("block_on_behalf")  # no such operation on a real DMP
        url = self._settings.service_url(td16_block.SERVICE)
        action = td16_block.ACTION_BLOCK if blocked else td16_block.ACTION_UNBLOCK
        request = build_envelope(
            td16_block.build_request(national_id, block=blocked),
            action=action,
            to=url,
            security_tokens=[self._vihf(ins, "normal")],
        )
        answer = self._call(url, request, expected_action=f"{action}Response", name="TD1.6-ext")
        return td16_block.parse_response(answer.body, block=blocked)

    def search_ins(self, query: TraitsQuery, signer: xades.DocumentSigner) -> insi.InsiResult:
        """INSi ``rechercherInsAvecTraitsIdentite``: the qualified INS of the traits typed.

        ``signer`` (the logged-in card) signs the professional's assertion with
        its signature key. The answer's code says what happened: ``00`` one
        identity (qualified INS and official traits), ``01`` none, ``02``
        several (:class:`~dmp_desktop.dmp.insi.InsiResult`).
        """
        certificate = signer.sign_certificate
        if certificate is None:
            raise CardNotRecognisedError()
        extra = self._settings.extra or {}
        context = insi.InsiContext(
            practitioner=self._practitioner,
            signature_certificate=certificate,
            sign=signer.sign_with_signature_key,
            software_name=self._lps.name,
            software_version=self._lps.version,
            homologation_id=self._lps.homologation_id,
            instance_id=self._lps_oid,
            billing_id=str(extra["billing_id"]) if extra.get("billing_id") else None,
        )
        request = insi.build_request(query, context)
        url = self._settings.insi_service_url()
        envelope = SoapRequest(request.message_id, insi.ACTION_SEARCH_TRAITS, url, request.data)
        answer = self._call(url, envelope, expected_action=None, name="INSi")
        return insi.parse_result(answer.body)

    def search_patients(self, query: td05.PdqQuery) -> list[td05.PdqMatch]:
        """TD0.5 (PDQv3): the DMP's patients matching a name (and birth date, sex)."""
        url = self._settings.service_url(td05.SERVICE)
        body = td05.build_request(query, sender_oid=self._lps_oid, sender_name=self._lps.name)
        request = build_envelope(
            body, action=td05.ACTION, to=url, security_tokens=[self._vihf(None, "normal")]
        )
        answer = self._call(url, request, expected_action=td05.ACTION_RESPONSE, name="TD0.5")
        return td05.parse_response(answer.body)

    def list_authorised_patients(
        self,
        since: datetime = td04.EVERYTHING_SINCE,
        date_type: td04.DateType = td04.DateType.LAST_AUTHORIZATION,
    ) -> list[td04.AuthorisedPatient]:
        """TD0.4 « Liste des DMP autorisés »: the DMPs this professional may open."""
        url = self._settings.service_url(td04.SERVICE)
        request = build_envelope(
            td04.build_request(since, date_type),
            action=td04.ACTION,
            to=url,
            security_tokens=[self._vihf(None, "normal")],
        )
        answer = self._call(url, request, expected_action=td04.ACTION_RESPONSE, name="TD0.4")
        return td04.parse_response(answer.body)

    def get_admin_data(self, ins: Ins) -> AdministrativeData:
        """TD1.3a: ``ins``'s administrative data (``DMPNotFound`` without a DMP)."""
        body = td13.build_read_request(ins, sender_oid=self._lps_oid, sender_name=self._lps.name)
        answer = self._patients_call(ins, body, td13.ACTION_READ, td13.ACTION_READ_RESPONSE)
        return td13.parse_read_response(answer.body, requested=ins)

    def update_admin_data(self, data: AdministrativeData) -> td11.RegistrationResult:
        """TD1.3b: send ``data`` (read with :meth:`get_admin_data`, contacts edited).

        Invalid contacts raise ``InvalidContactError`` before anything is sent.
        """
        body = td13.build_update_request(
            data, self._practitioner, sender_oid=self._lps_oid, sender_name=self._lps.name
        )
        answer = self._patients_call(
            data.ins, body, td13.ACTION_UPDATE, td13.ACTION_UPDATE_RESPONSE
        )
        return td13.parse_update_response(answer.body)

    def create_online_access(
        self, ins: Ins, channel_type: str, value: str
    ) -> OnlineAccessCredentials:
        """TD1.5a: open ``ins``'s online access; the one-time codes go to ``value``
        (a mobile for ``SMS``, an e-mail for ``EMAIL``). Returns the login and the
        temporary password to hand to the patient (never logged)."""
        body = td15.build_create_request(channel_type, value)
        answer = self._specific_call(ins, body, td15.ACTION_CREATE, {td15.ACTION_CREATE_RESPONSE})
        return td15.parse_create_response(answer.body)

    def update_otp_channel(
        self, ins: Ins, channel_type: str, value: str, action: str = td15.OTP_ADD
    ) -> OnlineAccessCredentials:
        """TD1.5b: add (``AJOUT``), change or remove a one-time-code channel."""
        body = td15.build_otp_request(channel_type, value, action)
        answer = self._specific_call(ins, body, td15.ACTION_OTP, {td15.ACTION_OTP_RESPONSE})
        return td15.parse_otp_response(answer.body)

    def renew_online_access(self, ins: Ins) -> OnlineAccessCredentials:
        """TD1.5d: new temporary credentials for ``ins``'s existing online access."""
        answer = self._specific_call(
            ins, td15.build_update_request(), td15.ACTION_UPDATE, td15.ACTION_UPDATE_RESPONSES
        )
        return td15.parse_update_response(answer.body)

    def _specific_call(
        self, ins: Ins, body: Element, action: str, responses: Collection[str]
    ) -> SoapResponse:
        if not self._settings.is_training:
            # Removed from the official WSDL in June 2024: only the training host has it.
            raise TrainingOnlyError("online_access")
        url = self._settings.service_url(td15.SERVICE)
        request = build_envelope(
            body, action=action, to=url, security_tokens=[self._vihf(ins, "normal")]
        )
        answer = self._call(url, request, expected_action=None, name="TD1.5")
        _check_action(answer, responses)
        return answer

    def _patients_call(
        self, ins: Ins, body: Element, action: str, response_action: str
    ) -> SoapResponse:
        url = self._settings.service_url(td11.SERVICE)
        request = build_envelope(
            body, action=action, to=url, security_tokens=[self._vihf(ins, "normal")]
        )
        return self._call(url, request, expected_action=response_action, name="TD1.x")

    def find_documents(
        self, query: DocumentQuery, *, purpose: str = "normal", reason: str | None = None
    ) -> list[DocumentEntry]:
        """TD3.1 (ITI-18 FindDocuments): the patient's documents matching ``query``.

        The answer is filtered by the query's visibility choices and
        de-duplicated by unique id (:func:`~dmp_desktop.dmp.xds.filter_entries`).
        ``purpose`` / ``reason``: see :meth:`retrieve_document`.
        """
        return list(self.query_documents(query, purpose=purpose, reason=reason).entries)

    def query_documents(
        self, query: DocumentQuery, *, purpose: str = "normal", reason: str | None = None
    ) -> xds.FindDocumentsResult:
        """Like :meth:`find_documents`, with the registry's warnings and total count."""
        _require_reason(purpose, reason)
        url = self._settings.service_url(xds.SERVICE_REGISTRY)
        request = build_envelope(
            xds.build_find_documents(query),
            action=xds.ACTION_FIND,
            to=url,
            security_tokens=[self._vihf(query.patient, purpose, reason, transaction="TD3.1")],
        )
        result = self._call_find(url, request, query.patient)
        entries = xds.filter_entries(result.entries, query)
        log.info(
            "TD3.1 %s: %d entries, %d shown, %d warnings",
            request.message_id,
            len(result.entries),
            len(entries),
            len(result.warnings),
        )
        return xds.FindDocumentsResult(tuple(entries), result.warnings, result.total)

    def retrieve_document(
        self, entry: DocumentEntry, *, purpose: str = "normal", reason: str | None = None
    ) -> RetrievedDocument:
        """TD3.2 (ITI-43 RetrieveDocumentSet): the bytes of ``entry``.

        ``purpose`` is the VIHF purpose of use (``normal``, ``bris_de_glace``,
        ``centre_15``); for emergency access ``reason`` is the justification
        the professional typed (required for ``bris_de_glace``), carried in the
        VIHF attribute :data:`ATTR_EMERGENCY_REASON`. The bytes are checked
        against the registry's size and SHA-1 when the entry has them.
        """
        _require_reason(purpose, reason)
        url = self._settings.service_url(xds.SERVICE_REPOSITORY)
        request = build_envelope(
            xds.build_retrieve_documents([(entry.repository_id, entry.unique_id)]),
            action=xds.ACTION_RETRIEVE,
            to=url,
            security_tokens=[self._vihf(entry.patient, purpose, reason, transaction="TD3.2")],
        )
        answer, message = self._call_mtom(
            url, request, expected_action=xds.ACTION_RETRIEVE_RESPONSE, name="TD3.2"
        )
        result = xds.parse_retrieve_response(answer.body, message)
        for document in result.documents:
            if document.unique_id == entry.unique_id:
                xds.check_integrity(entry, document)
                return document
        raise DmpProtocolError("the requested document is missing from the answer")

    # --- alimentation (TD2.1 ITI-41, TD3.3 ITI-57) ---------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def lps_oid(self) -> str:
        """This software's OID: the submission sets' ``sourceId``."""
        return self._lps_oid

    def upload_document(
        self,
        submission: iti41.Submission,
        signer: xades.DocumentSigner,
        *,
        signature: bytes | None = None,
    ) -> str:
        """TD2.1 (ITI-41 over MTOM): send ``submission``, signed with the card's signature key.

        ``signature``: the XAdES signature already made over this very document by the
        professional it is filed for (a secretary's prepared upload, the parapheur:
        :mod:`dmp_desktop.alimentation.outbox`); ``signer`` then signs nothing.
        Returns the document's unique id once the DMP said it registered it.
        A refusal raises ``DmpServiceError``; a network failure raises the
        network error: the request may or may not have arrived, so the caller
        must check by unique id (:meth:`find_by_unique_id`) before sending
        again (:class:`dmp_desktop.alimentation.Outbox` does).
        """
        if signature is None:
            signature = xades.sign_submission(
                [xades.SignedDocument(submission.document.unique_id, submission.content)],
                signer,
                signing_time=submission.submission_time,
            )
        body, parts = iti41.build_request(submission, signature)
        url = self._settings.service_url(iti41.SERVICE)
        envelope = build_envelope(
            body,
            action=iti41.ACTION,
            to=url,
            security_tokens=[self._vihf(submission.patient, "normal")],
        )
        content_type, data = build_mtom(envelope.data, parts, action=iti41.ACTION)
        request = _MtomRequest(
            envelope.message_id, iti41.ACTION, url, data, mtom_content_type=content_type
        )
        answer = self._call(url, request, expected_action=None, name="TD2.1")
        _check_action(answer, {iti41.ACTION_RESPONSE})
        warnings = iti41.parse_response(answer.body)
        log.info("TD2.1 %s: registered, %d warnings", request.message_id, len(warnings))
        return submission.document.unique_id

    def replace_document(
        self,
        old: DocumentEntry,
        submission: iti41.Submission,
        signer: xades.DocumentSigner,
        *,
        signature: bytes | None = None,
    ) -> str:
        """TD2.1 with an RPLC association: ``old`` (my active document) becomes Deprecated."""
        self._require_author(old, "replace")
        if old.status is not DocumentStatus.APPROVED:
            raise DocumentStatusError("replace", old.status.value)
        if submission.replaces_entry_uuid != old.entry_uuid:
            submission = dataclasses.replace(submission, replaces_entry_uuid=old.entry_uuid)
        return self.upload_document(submission, signer, signature=signature)

    def update_confidentiality(
        self,
        entry: DocumentEntry,
        *,
        masked: bool,
        invisible_patient: bool,
        invisible_legal_reps: bool,
    ) -> DocumentEntry:
        """TD3.3 (ITI-57): mask / unmask to professionals, visibility to patient / legal reps.

        The three choices are always given explicitly. Refuses the pair the
        DMP forbids (masked and invisible to the patient). When nothing
        changes, nothing is sent. Returns the entry as it now stands.
        """
        if masked and invisible_patient:
            raise ForbiddenVisibilityError()
        confidentiality = iti57.new_confidentiality(
            entry,
            masked=masked,
            invisible_patient=invisible_patient,
            invisible_legal_reps=invisible_legal_reps,
        )
        if {c.code for c in confidentiality} == {c.code for c in entry.confidentiality}:
            return entry
        body = iti57.build_metadata_update(entry, confidentiality, self._update_context())
        self._update(entry, body)
        version = entry.version or "1"
        return dataclasses.replace(
            entry,
            confidentiality=confidentiality,
            version=str(int(version) + 1) if version.isdigit() else None,
        )

    def archive_document(self, entry: DocumentEntry) -> DocumentEntry:
        """TD3.3d (ITI-57): an active document becomes Archived."""
        if entry.status is not DocumentStatus.APPROVED:
            raise DocumentStatusError("archive", entry.status.value)
        return self._set_status(entry, DocumentStatus.ARCHIVED)

    def unarchive_document(self, entry: DocumentEntry) -> DocumentEntry:
        """TD3.3d (ITI-57): an archived document becomes active again (« Désarchiver »)."""
        if entry.status is not DocumentStatus.ARCHIVED:
            raise DocumentStatusError("unarchive", entry.status.value)
        return self._set_status(entry, DocumentStatus.APPROVED)

    def delete_document(self, entry: DocumentEntry) -> DocumentEntry:
        """TD3.3c (ITI-57): the author deletes the document (only the author may)."""
        self._require_author(entry, "delete")
        if entry.status is DocumentStatus.DELETED:
            raise DocumentStatusError("delete", entry.status.value)
        return self._set_status(entry, DocumentStatus.DELETED)

    def find_by_unique_id(
        self, patient: Ins, unique_id: str, *, type_code: Code | None = None
    ) -> DocumentEntry | None:
        """The document of ``patient``'s DMP with this unique id, whatever its status, or None.

        The DMP's stored query is FindDocuments (the official material shows
        no other): every status but Deleted, every date, masked and invisible
        documents included, narrowed by ``type_code`` when known; the unique
        id is matched here.
        """
        query = DocumentQuery(
            patient=patient,
            statuses=frozenset(
                {DocumentStatus.APPROVED, DocumentStatus.DEPRECATED, DocumentStatus.ARCHIVED}
            ),
            include_masked=True,
            type_codes=(type_code,) if type_code is not None else (),
        )
        for entry in self.query_documents(query).entries:
            if entry.unique_id == unique_id:
                return entry
        return None

    def _require_author(self, entry: DocumentEntry, action: str) -> None:
        mine = self._practitioner.national_id
        authors = {a.national_id for a in entry.authors if a.national_id}
        if authors and mine not in authors:
            raise NotAuthorError(action)

    def _set_status(self, entry: DocumentEntry, status: DocumentStatus) -> DocumentEntry:
        body = iti57.build_status_update(entry, status, self._update_context())
        self._update(entry, body)
        return dataclasses.replace(entry, status=status)

    def _update(self, entry: DocumentEntry, body: Element) -> None:
        url = self._settings.service_url(iti57.SERVICE)
        request = build_envelope(
            body,
            action=iti57.ACTION,
            to=url,
            security_tokens=[self._vihf(entry.patient, "normal")],
        )
        answer = self._call(url, request, expected_action=None, name="TD3.3")
        _check_action(answer, iti57.ACTION_RESPONSES)
        iti57.parse_response(answer.body)

    def author_values(self) -> rim.AuthorValues:
        """The card holder as the XDS author slots write them (person, structure, specialty)."""
        practitioner = self._practitioner
        structure_id = practitioner.structure_id or self._settings.structure_id or ""
        structure_name = practitioner.structure_name or str(
            (self._settings.extra or {}).get("structure_name", "")
        )
        specialty = card_holder_code(practitioner)
        return rim.AuthorValues(
            person=rim.xcn(
                practitioner.national_id, practitioner.family_name, practitioner.given_name
            ),
            institution=rim.xon(structure_name, structure_id) if structure_id else None,
            specialty=(
                rim.ce(Code(specialty.code, specialty.label, specialty.system))
                if specialty is not None
                else None
            ),
        )

    def _update_context(self) -> iti57.UpdateContext:
        return iti57.UpdateContext(
            unique_id=new_oid(),
            source_id=self._lps_oid,
            submission_time=datetime.now(UTC),
            author=self.author_values(),
        )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> DmpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -----------------------------------------------------------------------------

    def _vihf(
        self,
        ins: Ins | None,
        purpose: str,
        reason: str | None = None,
        *,
        transaction: str = "",
    ) -> Element:
        """The VIHF of one request: the single place where the assertion is built.

        An emergency access's reason: kept in the local journal (always, before
        anything is sent); on the wire only in the « Formation » profile, as the
        training host's convention (docs/wire-conventions.md) — no official
        form exists, so nothing of it reaches a real DMP.
        """
        if purpose not in PURPOSE_LABELS:
            raise ValueError(f"unknown purpose of use: {purpose}")
        reason = _emergency_reason(purpose, reason)
        auth_mode = self._settings.auth_mode or AUTH_MODE_DIRECT
        signer = self._vihf_signer if auth_mode == AUTH_MODE_INDIRECT_STRONG else None
        if auth_mode != AUTH_MODE_DIRECT and signer is None:
            # Indirect modes need a VIHF signed with the structure's certificate.
            raise SettingsError("settings.auth_mode_unsupported")
        # Direct mode: the practice situation read on the card (connect.card_practitioner);
        # structure mode: the structure certificate's. The settings only fill in.
        if not self._settings.is_training and is_placeholder_homologation(
            self._lps.homologation_id
        ):
            raise SettingsError("settings.homologation_missing")  # never a placeholder
        structure_id = self._practitioner.structure_id or self._settings.structure_id or ""
        if not structure_id:
            raise SettingsError("settings.structure_id_missing")
        context = VihfContext(
            practitioner=self._practitioner,
            issuer_dn=self._issuer_dn,
            structure_id=structure_id,
            activity_sector=(
                self._practitioner.activity_sector or self._settings.activity_sector or "SA07"
            ),
            purpose=purpose,
            auth_mode=auth_mode,
            ins=ins,
            lps=self._lps,
            secret_connection=ins is not None and ins.value in self._secret_connections,
        )
        if purpose in EMERGENCY_PURPOSES and ins is not None and self._journal is not None:
            self._journal.record(
                professional=self._practitioner.national_id,
                structure=structure_id,
                patient_ins=ins.value,
                purpose=purpose,
                reason=reason or "",
                transaction=transaction,
            )
        assertion = build_vihf(context)
        if reason is not None and self._settings.is_training:
            # Training-only convention: the training host keeps it in its trace.
            _add_string_attribute(assertion, ATTR_EMERGENCY_REASON, reason, ATTR_PURPOSE_OF_USE)
        if signer is not None:
            sign_vihf(assertion, signer)  # last: the signature covers the whole assertion
        return assertion

    def _call(
        self, url: str, request: SoapRequest, *, expected_action: str | None, name: str
    ) -> SoapResponse:
        status, content_type, data = self._exchange(url, request, name)
        try:
            return read_http_response(
                status,
                content_type,
                data,
                expected_action=expected_action,
                relates_to=request.message_id,
            )
        except DmpDesktopError as exc:
            log.info("%s %s refused: %s", name, request.message_id, type(exc).__name__)
            raise

    def _call_mtom(
        self, url: str, request: SoapRequest, *, expected_action: str, name: str
    ) -> tuple[SoapResponse, MtomMessage | None]:
        """Like :meth:`_call`, keeping the MIME parts of an MTOM answer.

        No ``Accept: application/soap+xml`` here: the answer is ``multipart/related``
        (MTOM/XOP), which that header would refuse.
        """
        status, content_type, data = self._exchange(url, request, name, accept=None)
        try:
            if 200 <= status < 300 and is_multipart(content_type):
                message = parse_mtom(content_type or "", data)
                answer = parse_envelope(
                    message.root, expected_action=expected_action, relates_to=request.message_id
                )
                return answer, message
            answer = read_http_response(
                status,
                content_type,
                data,
                expected_action=expected_action,
                relates_to=request.message_id,
            )
            return answer, None
        except DmpDesktopError as exc:
            log.info("%s %s refused: %s", name, request.message_id, type(exc).__name__)
            raise

    def _call_find(self, url: str, request: SoapRequest, patient: Ins) -> xds.FindDocumentsResult:
        """TD3.1's exchange: a SOAP answer is read as it arrives (:class:`xds.FindDocumentsReader`),
        so that a list of thousands of documents never sits whole in memory."""
        reader = xds.FindDocumentsReader(patient)

        def stream_to(status: int, content_type: str | None) -> xds.FindDocumentsReader | None:
            return reader if 200 <= status < 300 and is_xml_media(content_type) else None

        status, content_type, data = self._exchange(url, request, "TD3.1", stream_to=stream_to)
        try:
            if not (200 <= status < 300 and is_xml_media(content_type)):
                if not 200 <= status < 300:
                    read_http_response(status, content_type, data)  # raises the fault
                    raise DmpProtocolError(f"HTTP {status}")
                envelope = envelope_bytes(content_type, data)  # the root of a multipart answer
                view = memoryview(envelope)
                for start in range(0, len(envelope), _FEED_SIZE):
                    reader.feed(bytes(view[start : start + _FEED_SIZE]))
            return reader.close(
                expected_action=xds.ACTION_FIND_RESPONSE, relates_to=request.message_id
            )
        except DmpDesktopError as exc:
            log.info("TD3.1 %s refused: %s", request.message_id, type(exc).__name__)
            raise

    def _exchange(
        self,
        url: str,
        request: SoapRequest,
        name: str,
        *,
        stream_to: _StreamChooser | None = None,
        accept: str | None = ns.SOAP12_CONTENT_TYPE,
    ) -> tuple[int, str | None, bytes]:
        if urlsplit(url).scheme != "https":
            raise SettingsError("settings.https_required")
        started = time.monotonic()
        try:
            status, content_type, data = self._post(url, request, stream_to, accept)
        except (httpx.HTTPError, OSError) as exc:
            error = translate_http_error(exc)
            log.info("%s %s failed: %s", name, request.message_id, type(error).__name__)
            raise error from None
        except DmpDesktopError as exc:
            log.info("%s %s refused: %s", name, request.message_id, type(exc).__name__)
            raise
        elapsed_ms = (time.monotonic() - started) * 1000
        log.info("%s %s -> HTTP %d in %.0f ms", name, request.message_id, status, elapsed_ms)
        return status, content_type, data

    def _post(
        self,
        url: str,
        request: SoapRequest,
        stream_to: _StreamChooser | None = None,
        accept: str | None = ns.SOAP12_CONTENT_TYPE,
    ) -> tuple[int, str | None, bytes]:
        """POST ``request``; the answer's status, content type and body.

        ``stream_to`` may take the body as it arrives instead (then the body
        returned is empty): given the status and content type, it returns a
        sink (``feed(bytes)``) or None to have the body buffered as usual.
        ``accept``: the Accept header (None for MTOM retrievals, as the official
        examples, whose answer is multipart).
        """
        headers = {"Content-Type": request.content_type}
        if accept is not None:
            headers["Accept"] = accept
        limit = xmlsafe.MAX_XML_BYTES
        with self._http.stream("POST", url, content=request.data, headers=headers) as response:
            status, content_type = response.status_code, response.headers.get("content-type")
            sink = stream_to(status, content_type) if stream_to is not None else None
            chunks: list[bytes] = []
            size = 0
            if sink is not None:
                # A long answer is parsed in a thread of its own from its second piece on
                # (a short one is not worth a thread).
                threaded = getattr(sink, "parses_unlocked", False)
                feeder: _Sink | _FeedingThread = sink
                try:
                    # libxml2 parses large pieces faster than the network's small ones.
                    for chunk in response.iter_bytes():
                        chunks.append(chunk)
                        size += len(chunk)
                        if size >= _FEED_SIZE:
                            feeder.feed(b"".join(chunks))
                            chunks, size = [], 0
                            if threaded and feeder is sink:
                                feeder = _FeedingThread(sink)
                    if chunks:
                        feeder.feed(b"".join(chunks))
                except BaseException:
                    if isinstance(feeder, _FeedingThread):
                        feeder.abandon()  # the network's error, not the parser's, is told
                    raise
                if isinstance(feeder, _FeedingThread):
                    feeder.finish()  # raises what the sink raised
                return status, content_type, b""
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise DmpProtocolError("answer too large")
                chunks.append(chunk)
            return status, content_type, b"".join(chunks)


class _Sink(Protocol):
    def feed(self, data: bytes) -> None: ...


class _FeedingThread:
    """Parsing in a thread of its own while the next bytes are received.

    For a sink whose parser runs without the interpreter lock (``parses_unlocked``: the
    compiled ITI-18 reader), receiving (Python: TLS records, HTTP) and parsing then run
    at once on two processors. The thread only runs ``sink.scan(piece)``; what it made
    is handed back, in order, to ``sink.take`` in the receiving thread (lxml's parsers
    stay in the thread that made them). At most :data:`_FEEDS_AHEAD` pieces wait (memory
    stays bounded); an error of the sink is raised by the :meth:`feed` or :meth:`finish`
    that takes its piece's turn, and nothing more is parsed after it.
    """

    def __init__(self, sink: Any) -> None:
        self._sink = sink
        self._pieces: queue.Queue[bytes | None] = queue.Queue(maxsize=_FEEDS_AHEAD)
        self._scanned: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue()
        self._given = self._taken = 0
        self._thread = threading.Thread(target=self._run, name="dmp-parse", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failed = False
        while (piece := self._pieces.get()) is not None:
            if failed:
                continue
            try:
                self._scanned.put((self._sink.scan(piece), None))
            except BaseException as exc:  # handed to the receiving thread
                failed = True
                self._scanned.put((None, exc))

    def _take_ready(self, wait: bool) -> None:
        while self._taken < self._given:
            try:
                scanned, error = self._scanned.get(block=wait)
            except queue.Empty:
                return
            self._taken += 1
            if error is not None:
                raise error
            self._sink.take(scanned)

    def feed(self, data: bytes) -> None:
        self._take_ready(wait=False)
        self._pieces.put(data)
        self._given += 1

    def finish(self) -> None:
        """Every piece parsed and taken; the sink's error raised if any."""
        try:
            self._take_ready(wait=True)
        finally:
            self._stop()

    def abandon(self) -> None:
        """Stop after the pieces already given, taking nothing more."""
        self._stop()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._pieces.put(None)
            self._thread.join()


_StreamChooser = Callable[[int, str | None], _Sink | None]
# Bytes handed to the parser at a time when an answer is streamed.
_FEED_SIZE = 1 << 20
# Pieces received ahead of the parser (see _FeedingThread).
_FEEDS_AHEAD = 2


@dataclasses.dataclass(frozen=True)
class _MtomRequest(SoapRequest):
    """A request whose body is an MTOM ``multipart/related`` message (ITI-41)."""

    mtom_content_type: str = ""

    @property
    def content_type(self) -> str:
        return self.mtom_content_type


def _check_action(answer: SoapResponse, allowed: Collection[str]) -> None:
    """The answer's WS-Addressing action, when it has one, must be one of ``allowed``."""
    if answer.action is not None and answer.action not in allowed:
        raise DmpProtocolError("unexpected WS-Addressing action in the answer")


def _require_reason(purpose: str, reason: str | None) -> None:
    """Reading documents in ``bris_de_glace`` mode needs the reason the user typed."""
    if purpose == PURPOSE_BREAK_GLASS and not (reason or "").strip():
        raise ValueError("emergency access (bris de glace) needs the reason typed by the user")


def _emergency_reason(purpose: str, reason: str | None) -> str | None:
    """The reason to carry (emergency purposes only): whitespace collapsed, bounded."""
    if purpose not in EMERGENCY_PURPOSES:
        return None  # a reason means nothing for normal access: not sent
    cleaned = " ".join((reason or "").split())
    if not cleaned:
        return None
    if len(cleaned) > MAX_REASON_LEN:
        raise ValueError(f"the emergency access reason exceeds {MAX_REASON_LEN} characters")
    return cleaned


def _add_string_attribute(assertion: Element, name: str, value: str, after: str) -> None:
    """Add a string attribute to a VIHF, right after the attribute ``after`` (else last)."""
    saml = ns.SAML2
    statement = next(iter(children(assertion, saml, "AttributeStatement")), None)
    if statement is None:
        raise ValueError("VIHF without an AttributeStatement")
    attribute = etree.Element(qn(saml, "Attribute"))
    attribute.set("Name", name)
    value_el = etree.SubElement(attribute, qn(saml, "AttributeValue"), nsmap={"xs": ns.XS})
    value_el.set(qn(ns.XSI, "type"), "xs:string")
    value_el.text = value
    anchor = next(
        (a for a in children(statement, saml, "Attribute") if a.get("Name") == after), None
    )
    if anchor is not None:
        anchor.addnext(attribute)
    else:
        statement.append(attribute)


__all__ = [
    "ATTR_EMERGENCY_REASON",
    "DEFAULT_LPS_OID",
    "EMERGENCY_PURPOSES",
    "DmpClient",
    "translate_http_error",
]
