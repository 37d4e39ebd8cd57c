"""The one place for French messages: every typed error names a message of the catalogue.

- every error class of the core has a message (a sample of each, and a check
  that no class is left without a sample);
- every id used exists, every field of a message is filled;
- every message of the catalogue is used by the code (no dead French);
- one translator: a translator set once reaches every part of a message;
- the host's own refusal reason is shown under our sentence, cleaned;
- the command line path never loads Qt.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import dmp_desktop
from dmp_desktop import messages
from dmp_desktop.cda.errors import (
    CdaError,
    CdaFormatError,
    EmptyPayloadError,
    SummaryInvalidError,
    SummaryProblem,
    ValidationKitMissingError,
    ValidationRunError,
)
from dmp_desktop.dmp.feed_errors import (
    DocumentStatusError,
    FeedError,
    ForbiddenVisibilityError,
    NotAuthorError,
    NotSignerError,
    OnBehalfRefusedError,
    OutboxItemGoneError,
    PatientObjectionError,
    SignatureAwaitedError,
    UploadInvalidError,
    UploadUnconfirmedError,
)
from dmp_desktop.dmp.vihf_signature import VihfSignatureError
from dmp_desktop.dmp.xades import XadesError
from dmp_desktop.domain.patient import InsError
from dmp_desktop.errors import (
    AnswerTooLargeError,
    CardError,
    CardNotRecognisedError,
    CardRemovedError,
    ClientCertificateRejectedError,
    DmpDesktopError,
    DmpProtocolError,
    DmpServiceError,
    HostCertificateError,
    HostNotReachedError,
    HostUnreachableError,
    InvalidContactError,
    MiddlewareLoadError,
    MiddlewareNotFoundError,
    NetworkError,
    NoCardError,
    NoReaderError,
    PinFormatError,
    PinIncorrectError,
    PinLockedError,
    ProxyError,
    SettingsError,
    SituationChoiceRequiredError,
    TimeoutError_,
    TlsNegotiationError,
    TrainingOnlyError,
    UnknownProfessionError,
    describe,
)
from dmp_desktop.identity.coherence import IdentityMismatchError, Trait, TraitMismatch, Where
from dmp_desktop.identity.traits import TraitsError
from dmp_desktop.messages import CATALOGUE, Msg, fields_of, msg, render, set_translator
from dmp_desktop.storage.secure import CorruptFileError, KeyUnavailableError, LocalWriteError
from dmp_desktop.terminology.errors import (
    ImportCancelledError,
    TerminologyError,
    TerminologyImportError,
    TerminologyIndexError,
)
from dmp_desktop.usecases.errors import (
    ClosureReasonError,
    ConsentNotGivenError,
    DocumentNotFoundError,
    EmergencyAccessError,
    InvalidFilterError,
    NoDmpError,
    NotYourUploadError,
    ObjectionError,
    SecretConnectionError,
    SummaryPatientMismatchError,
    UploadRefusedError,
    UseCaseError,
)
from dmp_desktop.usecases.patients import NoReferenceIdentityError

PACKAGE = Path(dmp_desktop.__file__).parent
QT_PACKAGES = ("dmp_desktop.ui", "dmp_desktop.services", "dmp_desktop.app")

# Bases only caught, never raised: the generic message is right for them.
BASES_NEVER_RAISED = (DmpDesktopError, CardError, TerminologyError)

SAMPLES: list[DmpDesktopError] = [
    DmpDesktopError(),
    CardError(),
    MiddlewareNotFoundError(None),
    MiddlewareNotFoundError("/usr/lib/libcps3_pkcs11_lux.so"),
    MiddlewareLoadError("/usr/lib/libcps3_pkcs11_lux.so"),
    NoReaderError(),
    NoCardError(),
    CardNotRecognisedError(),
    PinIncorrectError(2),
    PinIncorrectError(1),
    PinIncorrectError(None),
    PinIncorrectError(None, final_try=True),
    PinLockedError(),
    PinFormatError(),
    CardRemovedError(),
    NetworkError(),
    HostUnreachableError("ConnectError"),
    HostNotReachedError("ConnectionRefusedError"),
    *(HostCertificateError(code) for code in ("expired", "name", "chain", "negotiation")),
    HostCertificateError("no_certificate"),
    HostCertificateError("bad_name"),
    ClientCertificateRejectedError(),
    TlsNegotiationError(),
    ProxyError(407),
    ProxyError(403),
    ProxyError(0),
    UnknownProfessionError("Naturopathe"),
    UnknownProfessionError("Médecin", "77"),
    SituationChoiceRequiredError((("499700433153007", "CABINET"), ("1690009998", "CH"))),
    TrainingOnlyError("online_access"),
    TrainingOnlyError("block_on_behalf"),
    TimeoutError_(),
    DmpProtocolError("unreadable answer"),
    AnswerTooLargeError(100_000),
    VihfSignatureError("certificat"),
    XadesError("signature"),
    DmpServiceError("DMPAccessDenied"),
    DmpServiceError("DMPAccessDenied", "Vous n'êtes pas autorisé : demandez au patient."),
    DmpServiceError("SomethingNew"),
    SettingsError("settings.host_url"),
    SettingsError(
        "settings.professional_missing", where=msg("settings.professional", number=2), key="x"
    ),
    InvalidContactError("mobile"),
    InvalidContactError("fax"),
    InsError("ins.key_mismatch"),
    InsError("ins.unknown_authority", oid="1.2.3"),
    KeyUnavailableError(),
    CorruptFileError("drafts"),
    LocalWriteError("full"),
    LocalWriteError("denied"),
    LocalWriteError("failed"),
    TerminologyError(),
    TerminologyIndexError("newer-schema"),
    TerminologyImportError("cim10", "missing", "LIBCIM10MULTI.TXT"),
    TerminologyImportError("cim10", "too-many-errors"),
    ImportCancelledError("cis"),
    CdaError(),
    CdaFormatError("not CDA"),
    EmptyPayloadError(),
    SummaryInvalidError(
        [
            SummaryProblem("patient.birthplace_code", "birthplace_required"),
            SummaryProblem("allergies[0].agent_cis", "bad_format"),
            SummaryProblem("vigilance_points[1]", "empty"),
            SummaryProblem("effective_time", "naive_time"),
            SummaryProblem("odd.place", "odd_reason"),
        ]
    ),
    ValidationKitMissingError(["/opt/kit"]),
    ValidationRunError("no report"),
    FeedError(),
    UploadInvalidError(["empty_file", "title_missing", "not_a_code"]),
    ForbiddenVisibilityError(),
    NotAuthorError("delete"),
    DocumentStatusError("replace", "urn:asip:ci-sis:2010:StatusType:Archived"),
    DocumentStatusError("frobnicate", "urn:other"),
    PatientObjectionError(),
    OutboxItemGoneError(),
    OnBehalfRefusedError("DMPAccessDenied", "Dr Paul MARTIN"),
    SignatureAwaitedError("Dr Marie DURAND"),
    NotSignerError("Dr Marie DURAND"),
    OnBehalfRefusedError("DMPAccessDeniedByExcludedPs", "Dr Paul MARTIN"),
    UploadUnconfirmedError(TimeoutError_()),
    IdentityMismatchError([TraitMismatch(Trait.BIRTH_NAME, Where.CDA_HEADER, "A", "B")]),
    IdentityMismatchError(
        [
            TraitMismatch(Trait.SEX, Where.XDS_METADATA, "M", "F"),
            TraitMismatch(Trait.BIRTHPLACE, Where.FORM, "", "75056"),
        ]
    ),
    UseCaseError(),
    *(ConsentNotGivenError(w) for w in ("access", "creation", "legal_representative")),
    *(
        EmergencyAccessError(p, "bris_de_glace")
        for p in (
            "purpose",
            "reason_missing",
            "reason_too_short",
            "reason_too_long",
            "reason_without_emergency",
            "not_possible",
            "no_dmp",
            "closed",
            "staff",
            "blocked",
            "not_needed",
        )
    ),
    *(
        UploadRefusedError(r)
        for r in ("no_card", "no_status", "no_dmp", "closed", "blocked", "no_authorisation")
    ),
    ObjectionError(datetime(2026, 3, 12, 10, 30, tzinfo=UTC)),
    NotYourUploadError(),
    DocumentNotFoundError(),
    InvalidFilterError("11488-4^x"),
    NoDmpError(),
    *(ClosureReasonError(p) for p in ("kind", "too_short", "too_long")),
    *(
        SecretConnectionError(r)
        for r in ("no_card", "no_status", "no_dmp", "staff", "blocked", "closed", "not_minor")
    ),
    SummaryPatientMismatchError(),
    NoReferenceIdentityError(),
    *(
        TraitsError(field)
        for field in (
            "birth_name",
            "birth_name_long",
            "given_names",
            "given_names_long",
            "sex",
            "birth_date",
            "birthplace",
        )
    ),
]


def _all_subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def _import_core() -> None:
    """Import every Qt-free module of the package, so that every error class is known."""
    for info in pkgutil.walk_packages([str(PACKAGE)], "dmp_desktop."):
        if info.name.startswith(QT_PACKAGES) or info.name == "dmp_desktop.__main__":
            continue
        importlib.import_module(info.name)


def _ids(message: Msg) -> Iterator[Msg]:
    yield message
    for value in message.params.values():
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, Msg):
                yield from _ids(item)


def test_every_error_class_of_the_core_has_a_sample_here() -> None:
    _import_core()
    sampled = {type(sample) for sample in SAMPLES}
    missing = {
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _all_subclasses(DmpDesktopError)
        if cls.__module__.startswith("dmp_desktop.")
        and not cls.__module__.startswith(QT_PACKAGES)
        and cls not in sampled
    }
    assert not missing, f"add a sample of each to SAMPLES (and its message): {sorted(missing)}"


@pytest.mark.parametrize("error", SAMPLES, ids=lambda e: type(e).__name__)
def test_every_error_names_known_messages_and_fills_their_fields(error: DmpDesktopError) -> None:
    message = error.message()
    for part in _ids(message):
        assert part.id in CATALOGUE, part.id
        assert fields_of(part.id) <= set(part.params), part.id
    shown = describe(error)
    assert shown and "{" not in shown and "}" not in shown
    if type(error) not in BASES_NEVER_RAISED:
        assert shown != render(msg("error.unexpected")), type(error).__name__


def test_known_texts_are_unchanged() -> None:
    assert describe(PinIncorrectError(2)) == "Code PIN incorrect. Il vous reste 2 essais."
    assert describe(HostCertificateError("expired")) == (
        "Le serveur contacté n'a pas présenté de certificat de confiance (certificat expiré "
        "ou pas encore valide). Aucune donnée n'a été envoyée. Vérifiez l'adresse du DMP "
        "dans les paramètres."
    )
    assert describe(SettingsError("settings.file_unreadable", name="settings.json")) == (
        "Paramètres invalides : fichier de paramètres illisible (settings.json)."
    )
    assert describe(
        SummaryInvalidError([SummaryProblem("allergies[0].agent_cis", "bad_format")])
    ) == (
        "Le document ne peut pas être généré :\n"
        "Allergie n° 1 (code CIS) : n'a pas le format attendu."
    )
    assert describe(UploadInvalidError(["empty_file", "blank_text"])) == (
        "Le fichier est vide : choisissez le bon fichier. Rien n'a été envoyé.\n"
        "Le texte est vide : rien n'a été envoyé."
    )
    assert describe(DmpServiceError("Odd")) == (
        "Le DMP a refusé la demande (code Odd). Réessayez ou contactez le support."
    )
    assert describe(ValueError("x")) == describe(DmpDesktopError())


_DYNAMIC_FAMILIES = (
    "traits.",
    "identity.trait.",
    "identity.where.",
    "dmp.code.",
    "upload.problem.",
    "cda.path.",
    "cda.field.",
    "cda.reason.",
    "tls.reason.",
    "terminology.import.",
    "terminology.index.",
    "feed.action.",
    "feed.status.",
    "contact.",
    "storage.write.",
)


def test_every_message_of_the_catalogue_is_used() -> None:
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in PACKAGE.rglob("*.py")
        if path.name != "messages.py"
    )
    sources += Path(messages.__file__).read_text(encoding="utf-8").split("_CATALOGUE", 1)[0]
    unused = [
        message_id
        for message_id in CATALOGUE
        if not message_id.startswith(_DYNAMIC_FAMILIES)
        and not re.search(rf"[\"']{re.escape(message_id)}[\"']", sources)
    ]
    assert not unused


def test_one_translator_reaches_every_part_of_a_message() -> None:
    set_translator(lambda source, message_id: f"<{message_id}>" + source)
    try:
        shown = describe(HostCertificateError("name"))
        assert shown.startswith("<net.host_certificate>")
        assert "(<tls.reason.name>le certificat ne correspond" in shown
        shown = describe(
            SettingsError(
                "settings.professional_missing",
                where=msg("settings.professional", number=2),
                key="national_id",
            )
        )
        assert "<settings.invalid>" in shown and "<settings.professional>" in shown
    finally:
        set_translator(None)
    assert "<" not in describe(HostCertificateError("name"))


def test_a_translation_with_wrong_fields_falls_back_to_the_french() -> None:
    set_translator(lambda source, message_id: "Wrong {nope}")
    try:
        assert describe(PinIncorrectError(2)) == "Code PIN incorrect. Il vous reste 2 essais."
    finally:
        set_translator(None)


# --- the host's refusal reason ----------------------------------------------------------------


def test_the_hosts_reason_is_shown_under_our_sentence() -> None:
    error = DmpServiceError(
        "DMPAccessDenied",
        "Vous n'êtes pas autorisé à accéder à ce DMP : demandez au patient son accord "
        "puis enregistrez l'autorisation.",
    )
    assert describe(error) == (
        "Le DMP a refusé l'accès à ce dossier.\n"
        "Motif donné par le DMP : Vous n'êtes pas autorisé à accéder à ce DMP : demandez au "
        "patient son accord puis enregistrez l'autorisation."
    )


@pytest.mark.parametrize(
    ("detail", "shown"),
    [
        ("", None),
        ("DMPAccessDenied", None),  # the code again: no reason
        ("Erreur", None),  # a single word is a code, not a reason
        ("  deux\n\tlignes  ", "deux lignes"),
        ("abc\u202edef ghi", "abc def ghi"),  # a bidi override cannot reorder the text
        ("x " * 400, ("x " * 400)[:299].rstrip() + "…"),
    ],
)
def test_the_hosts_reason_is_cleaned(detail: str, shown: str | None) -> None:
    assert DmpServiceError("DMPAccessDenied", detail).host_reason == shown


def test_a_reason_that_repeats_our_sentence_is_not_shown_twice() -> None:
    error = DmpServiceError("DMPNotFound", "Ce patient n'a pas de DMP.")
    assert describe(error) == "Ce patient n'a pas de DMP."


# --- Qt stays out of the command line ----------------------------------------------------------


def test_the_command_line_renders_messages_without_loading_qt() -> None:
    code = (
        "import sys\n"
        "import dmp_desktop.cli.main\n"
        "from dmp_desktop.errors import DmpServiceError, describe\n"
        "text = describe(DmpServiceError('DMPAccessDenied', 'Une secrétaire ne peut pas "
        "consulter ce DMP.'))\n"
        "assert 'Motif donné par le DMP : Une secrétaire' in text, text\n"
        "loaded = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
