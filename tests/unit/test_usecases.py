"""The use cases' rules, without Qt, without a host: each rule once, checked at its edges.

The same rules are run through both doors against the real training host in
``tests/e2e/test_cross_door.py``; here the edges (lengths, states, owners) are
checked one by one with small in-memory clients.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from dmp_desktop.alimentation import Outbox, UploadInvalidError
from dmp_desktop.cda.vsm import build_vsm
from dmp_desktop.dmp.feed_errors import OutboxItemGoneError
from dmp_desktop.dmp.td11 import CreationConsent, LegalRepresentative, PatientIdentity
from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.document import (
    Author,
    Code,
    Confidentiality,
    DocumentEntry,
    DocumentQuery,
    DocumentStatus,
    RetrievedDocument,
)
from dmp_desktop.domain.patient import InsKind
from dmp_desktop.errors import describe
from dmp_desktop.storage.secure import SecureStore
from dmp_desktop.usecases import access, consultation, records, upload, vsm
from dmp_desktop.usecases.errors import (
    ConsentNotGivenError,
    DocumentNotFoundError,
    EmergencyAccessError,
    InvalidFilterError,
    NotYourUploadError,
    ObjectionError,
    UploadRefusedError,
)
from tests.support.cda_samples import full_summary, sample_author
from tests.unit.test_alimentation_support import INS, PDF, request
from tests.unit.test_dmp_support import doctor, secretary, settings

KEY = b"k" * 32
MARTIN = doctor(national_id="899700433160", family_name="MARTIN", given_name="Paul")


def status(**changes: object) -> DmpStatus:
    values: dict[str, object] = {
        "ins": INS,
        "state": DmpState.ACTIVE,
        "authorization": Authorization.VALIDE,
    }
    values.update(changes)
    return DmpStatus(**values)  # type: ignore[arg-type]


# -- emergency access: one rule for the reason, both purposes --------------------------------------
@pytest.mark.parametrize("purpose", access.EMERGENCY_PURPOSES)
def test_one_reason_rule_for_both_emergency_purposes(purpose: str) -> None:
    n = access.MIN_REASON_LENGTH
    assert access.emergency_problem(purpose, None) == "reason_missing"
    assert access.emergency_problem(purpose, "   \n ") == "reason_missing"
    assert access.emergency_problem(purpose, "x" * (n - 1)) == "reason_too_short"
    # Inner whitespace is collapsed before counting: "a    b" is 3 characters.
    assert access.emergency_problem(purpose, "a" + " " * 20 + "b") == "reason_too_short"
    assert access.emergency_problem(purpose, "x" * n) is None
    assert access.emergency_problem(purpose, "x" * access.MAX_REASON_LENGTH) is None
    assert access.emergency_problem(purpose, "x" * (access.MAX_REASON_LENGTH + 1)) == (
        "reason_too_long"
    )
    mode = access.emergency_access(purpose, "  Patient   inconscient \n aux urgences ")
    assert mode == access.AccessMode(purpose, "Patient inconscient aux urgences")
    assert mode.emergency


def test_access_mode_and_its_refusals_in_french() -> None:
    assert access.access_mode(None, None) is access.NORMAL_ACCESS
    assert access.access_mode("normal", "") is access.NORMAL_ACCESS
    with pytest.raises(EmergencyAccessError) as without:
        access.access_mode(None, "un motif sans urgence")
    assert without.value.problem == "reason_without_emergency"
    with pytest.raises(EmergencyAccessError) as unknown:
        access.emergency_access("curiosite", "un motif assez long")
    assert unknown.value.problem == "purpose"
    with pytest.raises(EmergencyAccessError) as short:
        access.emergency_access(access.PURPOSE_CENTRE_15, "ab")
    text = describe(short.value)
    assert "trop court" in text and str(access.MIN_REASON_LENGTH) in text


class StatusOnly:
    def __init__(self, answer: DmpStatus) -> None:
        self.answer = answer
        self.asked = 0

    def test_existence(self, ins: object, purpose: str = "normal") -> DmpStatus:
        self.asked += 1
        return self.answer


@pytest.mark.parametrize(
    ("dmp", "who", "refusal"),
    [
        (status(authorization=Authorization.EXPIRE), doctor(), None),
        (status(authorization=Authorization.NON_EXISTE), doctor(), None),
        (status(authorization=Authorization.INTERDIT), doctor(), "blocked"),
        (status(), doctor(), "not_needed"),
        (status(state=DmpState.NONE), doctor(), "no_dmp"),
        (status(state=DmpState.CLOSED), doctor(), "closed"),
        (status(authorization=None), secretary(), "staff"),
    ],
)
def test_who_may_open_an_emergency_access(dmp: DmpStatus, who: object, refusal: str | None) -> None:
    state = access.consultation_state(dmp, who)  # type: ignore[arg-type]
    assert access.emergency_refusal(state) == refusal
    client = StatusOnly(dmp)
    reason = "Patient inconscient aux urgences"
    if refusal is None:
        opened = access.open_emergency_access(
            client,
            INS,
            who,
            access.PURPOSE_BREAK_GLASS,
            reason,  # type: ignore[arg-type]
        )
        assert opened == access.AccessMode(access.PURPOSE_BREAK_GLASS, reason)
    else:
        with pytest.raises(EmergencyAccessError) as refused:
            access.open_emergency_access(
                client,
                INS,
                who,
                access.PURPOSE_CENTRE_15,
                reason,  # type: ignore[arg-type]
            )
        assert refused.value.problem == refusal and describe(refused.value)
    with pytest.raises(EmergencyAccessError):  # the reason is checked before anything is asked
        access.open_emergency_access(client, INS, who, access.PURPOSE_CENTRE_15, "court")  # type: ignore[arg-type]
    assert client.asked == 1


# -- consent --------------------------------------------------------------------------------------
class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def set_authorization(
        self, ins: object, *, grant: bool = True, treating_physician: bool = False
    ) -> None:
        self.calls.append((ins, grant, treating_physician))


def test_consent_is_never_automatic() -> None:
    client = Recorder()
    with pytest.raises(ConsentNotGivenError):
        access.authorise(client, INS, patient_consented=False)
    with pytest.raises(ConsentNotGivenError):
        access.authorise(client, INS, patient_consented="oui")  # type: ignore[arg-type]
    assert client.calls == []  # nothing sent
    access.authorise(client, INS, patient_consented=True, treating_physician=True)
    access.revoke(client, INS)
    assert client.calls == [(INS, True, True), (INS, False, False)]


def test_older_documents_are_counted_only_from_what_is_in_hand() -> None:
    """The period's hint: exact when the list in hand covers every date (the doctor widened
    earlier), else « not searched » — never a search of its own."""
    today = date(2026, 12, 7)
    c = consultation

    def dated(
        uid: str, year: int, status: DocumentStatus = DocumentStatus.APPROVED
    ) -> DocumentEntry:
        return entry(uid, when=datetime(year, 6, 1, tzinfo=UTC), status_=status)

    held = [
        dated("new", 2026),
        dated("three", 2023),
        dated("old", 2019),
        dated("older", 2010),
        dated("archived", 2010, DocumentStatus.ARCHIVED),  # not shown anyway: not counted
    ]
    two_years, everything = c.ListScope(), c.ListScope(c.Period.ALL)
    # Only the last 2 years were searched: nothing known of older ones.
    older = c.older_documents(c.HeldDates.of(held[:1]), two_years, two_years, today)
    assert older == c.OlderDocuments(0, two_years) and not older.exact
    assert c.older_documents_fr(older, "Ctrl+Shift+T pour toutes les périodes") == (
        "Les documents de plus de 2 ans n'ont pas été recherchés : Ctrl+Shift+T pour toutes "
        "les périodes."
    )
    # Widened earlier, back to 2 years: the exact number, from memory.
    loaded = everything.widened(c.ListScope(archived=True))
    older = c.older_documents(c.HeldDates.of(held), loaded, two_years, today)
    assert older == c.OlderDocuments(3) and older.exact
    assert c.older_documents_fr(older, "Ctrl+Shift+T pour toutes les périodes") == (
        "3 documents plus anciens ne sont pas affichés : Ctrl+Shift+T pour toutes les périodes."
    )
    five = c.ListScope(c.Period.FIVE_YEARS)
    assert c.older_documents(c.HeldDates.of(held), everything, five, today) == c.OlderDocuments(2)
    assert c.older_documents_fr(c.OlderDocuments(1), "x") == (
        "1 document plus ancien n'est pas affiché : x."
    )
    assert c.older_documents_fr(c.OlderDocuments(0), "x") == (
        "Aucun document plus ancien dans ce DMP."
    )
    # 5 years in hand, 2 shown: the ones in between are counted, the older unknown.
    older = c.older_documents(c.HeldDates.of(held[:2]), five, two_years, today)
    assert older == c.OlderDocuments(1, five)
    assert c.older_documents_fr(older, "x") == (
        "1 document plus ancien n'est pas affiché, et les documents de plus de 5 ans n'ont "
        "pas été recherchés : x."
    )
    # A type filter counts the same documents the binary search does without it.
    typed = c.ListScope(types=(c.type_filter("11488-4"),))
    assert c.HeldDates.of(held).left_out(typed, today) == 3 == (
        c.HeldDates.of(held).left_out(two_years, today)
    )
    assert c.HeldDates.of(held).left_out(c.ListScope(c.Period.TWO_YEARS, archived=True), today) == 4
    # Every date shown: nothing to say.
    assert c.older_documents(c.HeldDates.of(held), everything, everything, today) is None
    nothing = c.older_documents(c.HeldDates(), None, two_years, today)
    assert nothing == c.OlderDocuments(0, two_years)


def test_the_status_sentence_tells_a_secretary_what_she_may_do() -> None:
    """One sentence for both doors (status panel, ``dmp status``): no consent to ask for a
    card that may feed the record but not read it."""
    missing = status(authorization=Authorization.NON_EXISTE)
    assert "consentement" in access.status_summary(missing, doctor())
    assert "consentement" in access.status_summary(missing, None)
    told = access.status_summary(missing, secretary())
    assert "consentement" not in told
    assert "sans pouvoir le consulter" in told


@pytest.mark.parametrize(
    ("dmp", "who", "mode", "declined", "expected"),
    [
        (None, doctor(), access.NORMAL_ACCESS, False, access.ConsultationState.EMPTY),
        (status(), secretary(), access.NORMAL_ACCESS, False, access.ConsultationState.STAFF),
        (status(state=DmpState.NONE), doctor(), access.NORMAL_ACCESS, False, "no_dmp"),
        (status(state=DmpState.CLOSED), doctor(), access.NORMAL_ACCESS, False, "closed"),
        (status(authorization=Authorization.INTERDIT), doctor(), None, False, "blocked"),
        (status(), doctor(), access.NORMAL_ACCESS, False, "documents"),
        (status(authorization=Authorization.EXPIRE), doctor(), None, False, "ask_consent"),
        (status(authorization=Authorization.EXPIRE), doctor(), None, True, "declined"),
        (status(authorization=None), doctor(), "emergency", False, "documents"),
    ],
)
def test_what_the_consultation_shows(
    dmp: DmpStatus | None,
    who: object,
    mode: object,
    declined: bool,
    expected: object,
) -> None:
    if mode is None:
        mode = access.NORMAL_ACCESS
    elif mode == "emergency":
        mode = access.emergency_access(access.PURPOSE_BREAK_GLASS, "Patient inconscient")
    state = access.consultation_state(dmp, who, mode, declined=declined)  # type: ignore[arg-type]
    wanted = expected if isinstance(expected, access.ConsultationState) else None
    assert state is (wanted or access.ConsultationState(expected))
    blocked = access.consultation_state(
        status(authorization=Authorization.INTERDIT),
        doctor(),
        access.emergency_access(access.PURPOSE_BREAK_GLASS, "Patient inconscient"),
    )
    assert blocked is access.ConsultationState.BLOCKED  # no emergency way around a block
    assert not access.may_use_emergency_access(blocked)


# -- the list -------------------------------------------------------------------------------------
def entry(
    unique_id: str,
    *,
    when: datetime | None = None,
    type_code: str = "11488-4",
    authors: tuple[str, ...] = ("899700433153",),
    status_: DocumentStatus = DocumentStatus.APPROVED,
    masked: bool = False,
    ins: object = INS,
) -> DocumentEntry:
    flags = (Code(Confidentiality.MASKED_PS.value, "", "1.2.250.1.213.1.1.4.13"),) if masked else ()
    return DocumentEntry(
        entry_uuid=f"urn:uuid:{unique_id}",
        unique_id=unique_id,
        repository_id="1.2.250.1.213.1.1.1.1",
        patient=ins,  # type: ignore[arg-type]
        title="Document",
        type_code=Code(type_code, "", "1.2.250.1.213.1.1.4.12"),
        class_code=Code("11", ""),
        format_code=Code("urn:ihe:iti:xds-sd:pdf:2008", ""),
        creation_time=when or datetime(2026, 1, 1, tzinfo=UTC),
        authors=tuple(Author(national_id=a) for a in authors),
        confidentiality=flags,
        status=status_,
    )


class Registry:
    """A DMP client over a few entries: answers what was asked, records the questions."""

    def __init__(self, entries: list[DocumentEntry], documents: dict[str, bytes] | None = None):
        self.entries = entries
        self.documents = documents or {}
        self.queries: list[tuple[DocumentQuery, str, str | None]] = []

    def find_documents(
        self, query: DocumentQuery, *, purpose: str = "normal", reason: str | None = None
    ) -> list[DocumentEntry]:
        self.queries.append((query, purpose, reason))
        return [
            e
            for e in self.entries
            if e.status in query.statuses
            and (not query.type_codes or e.type_code.code in {c.code for c in query.type_codes})
        ]

    def retrieve_document(
        self, entry: DocumentEntry, *, purpose: str = "normal", reason: str | None = None
    ) -> RetrievedDocument:
        return RetrievedDocument(
            entry.unique_id, entry.repository_id, "text/xml", self.documents[entry.unique_id]
        )


def test_default_list_is_two_years_of_active_documents_newest_first() -> None:
    older = entry("1", when=datetime(2025, 3, 1, tzinfo=UTC))
    newer = entry("2", when=datetime(2026, 2, 1, tzinfo=UTC))
    client = Registry([older, newer, newer])
    found = consultation.list_documents(client, INS, today=date(2026, 3, 12))
    assert [e.unique_id for e in found] == ["2", "1"]  # de-duplicated, newest first
    query, purpose, reason = client.queries[0]
    assert query.since == date(2024, 3, 12)
    assert query.statuses == frozenset({DocumentStatus.APPROVED})
    assert not query.include_masked and (purpose, reason) == ("normal", None)
    leap = consultation.ListScope().start(date(2028, 2, 29))
    assert leap == date(2026, 2, 28)


def test_scope_filters_and_emergency_purpose_travel_with_the_query() -> None:
    client = Registry([])
    scope = consultation.ListScope(
        period=consultation.Period.ALL,
        archived=True,
        deprecated=True,
        masked=True,
        types=(consultation.type_filter(" 11488-4 "),),
    )
    mode = access.emergency_access(access.PURPOSE_CENTRE_15, "Appel du SAMU, douleur thoracique")
    consultation.list_documents(client, INS, scope, mode)
    query, purpose, reason = client.queries[0]
    assert query.since is None and query.include_masked
    assert query.statuses == consultation.ALL_LISTED_STATUSES
    assert [c.code for c in query.type_codes] == ["11488-4"]
    assert (purpose, reason) == (mode.purpose, mode.reason)
    since = consultation.ListScope(since=date(2020, 1, 1))
    assert since.start(date(2026, 1, 1)) == date(2020, 1, 1)
    for bad in ("", "11488-4^1.2", "a b", "x'"):
        with pytest.raises(InvalidFilterError):
            consultation.type_filter(bad)


def test_scope_covers_and_widens() -> None:
    two, five, everything = (consultation.ListScope(period=p) for p in consultation.Period)
    assert five.covers(two) and not two.covers(five) and everything.covers(five)
    assert two.widened(five).period is consultation.Period.FIVE_YEARS
    archived = consultation.ListScope(archived=True)
    assert archived.covers(two) and not two.covers(archived)
    typed = consultation.ListScope(types=(Code("11488-4"),))
    assert two.covers(typed) and not typed.covers(two)
    dated = consultation.ListScope(since=date(2020, 1, 1))
    assert everything.covers(dated) and not two.covers(dated)
    assert not two.covers(dataclasses.replace(two, masked=True))


def test_find_a_document_by_its_unique_id() -> None:
    archived = entry("9", status_=DocumentStatus.ARCHIVED)
    client = Registry([entry("1"), archived])
    assert consultation.find_document(client, INS, " 9 ") == archived
    query = client.queries[0][0]
    assert query.include_masked and query.since is None
    with pytest.raises(DocumentNotFoundError):
        consultation.find_document(client, INS, "404")
    with pytest.raises(DocumentNotFoundError):
        consultation.find_document(client, INS, "  ")


# -- who may send, objections, the outbox's owners -----------------------------------------
@pytest.mark.parametrize(
    ("dmp", "who", "refusal"),
    [
        (status(), None, "no_card"),
        (None, doctor(), "no_status"),
        (status(state=DmpState.NONE), doctor(), "no_dmp"),
        (status(state=DmpState.CLOSED), doctor(), "closed"),
        (status(authorization=Authorization.INTERDIT), doctor(), "blocked"),
        (status(authorization=Authorization.EXPIRE), doctor(), "no_authorisation"),
        (status(authorization=Authorization.NON_EXISTE), doctor(), "no_authorisation"),
        (status(authorization=None), secretary(), None),  # the DMP checks the author's rights
        (status(), doctor(), None),
    ],
)
def test_who_may_send(dmp: DmpStatus | None, who: object, refusal: str | None) -> None:
    assert upload.upload_refusal(dmp, who) == refusal  # type: ignore[arg-type]
    if refusal is not None:
        with pytest.raises(UploadRefusedError) as refused:
            upload.require_upload_allowed(dmp, who)  # type: ignore[arg-type]
        assert describe(refused.value)


def desk(tmp_path: Path) -> upload.UploadDesk:
    return upload.UploadDesk(
        settings(),
        open_outbox=lambda _s: Outbox(SecureStore(tmp_path / "outbox", KEY)),
        open_state=lambda _s: SecureStore(tmp_path / "state", KEY),
    )


def test_the_patients_objection_is_checked_whatever_the_door(tmp_path: Path) -> None:
    uploads = desk(tmp_path)
    req = request()
    assert uploads.check_file(INS, PDF, "cr.pdf").objected_at is None
    uploads.record_objection(INS, PDF)
    checked = uploads.check_file(INS, PDF, "cr.pdf")
    assert checked.objected_at is not None and checked.problems == ()
    with pytest.raises(ObjectionError) as objected:
        uploads.queue(req, doctor())
    assert "opposé" in describe(objected.value)
    assert uploads.outbox().items() == []
    # Another patient, or another file, is not concerned.
    uploads.queue(request(source=PDF + b"% other\n"), doctor())
    # Another desk on the same folder (the other door, later) sees the objection.
    assert desk(tmp_path).objection(INS, PDF) is not None


def test_withdrawing_a_pending_upload_records_the_objection(tmp_path: Path) -> None:
    uploads = desk(tmp_path)
    item = uploads.queue(request(), doctor())
    uploads.withdraw(item.id, doctor())
    assert uploads.outbox().items() == []
    assert uploads.objection(INS, PDF) is not None  # remembered, not only deleted
    with pytest.raises(ObjectionError):
        uploads.queue(request(), doctor())


def test_pending_uploads_belong_to_who_prepared_them(tmp_path: Path) -> None:
    uploads = desk(tmp_path)
    mine = uploads.queue(request(), doctor())
    theirs = uploads.queue(request(source=PDF + b"% martin\n"), MARTIN)
    assert mine.author_id == doctor().national_id
    assert [i.id for i in uploads.pending(doctor())] == [mine.id]
    assert [i.id for i in uploads.pending(MARTIN)] == [theirs.id]
    for act in (uploads.discard, uploads.withdraw, uploads.item):
        with pytest.raises(NotYourUploadError):
            act(theirs.id, doctor())
    assert len(uploads.outbox().items()) == 2  # nothing removed by the wrong card
    with pytest.raises(OutboxItemGoneError):
        uploads.discard("unknown", doctor())
    assert uploads.discard(theirs.id, MARTIN).id == theirs.id
    # The same file prepared by two doctors makes two items, one each.
    again = uploads.queue(request(source=PDF + b"% martin\n"), doctor())
    assert again.id != theirs.id and again.author_id == doctor().national_id


def test_pending_states_never_say_sent_for_a_refused_item(tmp_path: Path) -> None:
    uploads = desk(tmp_path)
    item = uploads.queue(request(), doctor())
    assert upload.PendingState.of(item) is upload.PendingState.WAITING
    refused = replace(item, attempts=1, last_error="DMPAccessDenied")
    assert upload.PendingState.of(refused) is upload.PendingState.REFUSED
    assert "envoyé" not in upload.PENDING_FR[upload.PendingState.REFUSED]
    from dmp_desktop.alimentation import OutboxState

    lost = replace(item, attempts=1, state=OutboxState.SENT_UNCONFIRMED)
    assert upload.PendingState.of(lost) is upload.PendingState.UNCONFIRMED


def test_queue_checks_every_rule_of_the_request(tmp_path: Path) -> None:
    uploads = desk(tmp_path)
    with pytest.raises(UploadInvalidError) as invalid:
        uploads.queue(request(masked=True, invisible_patient=True), doctor())
    assert "forbidden_visibility" in invalid.value.problems
    with pytest.raises(UploadInvalidError) as staff:
        uploads.queue(request(), secretary())
    assert staff.value.problems == ("on_behalf_of_missing",)
    assert uploads.outbox().items() == []


def test_a_file_too_large_is_not_read(tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    with big.open("wb") as f:
        f.truncate(21 * 1024 * 1024)
    found = desk(tmp_path).read_file(INS, big)
    assert found.problems == ("file_too_large",) and found.data == b""
    with pytest.raises(OSError):
        desk(tmp_path).read_file(INS, tmp_path / "missing.pdf")


# -- the VSM: one lookup --------------------------------------------------------------------------
def test_my_previous_vsm_and_the_latest_come_from_one_lookup() -> None:
    mine_old = entry("v1", type_code="SYNTH", when=datetime(2025, 1, 1, tzinfo=UTC))
    mine_masked = entry("v2", type_code="SYNTH", when=datetime(2025, 6, 1), masked=True)
    other = entry("v3", type_code="SYNTH", when=datetime(2026, 1, 1, tzinfo=UTC), authors=("x",))
    wrong_patient = entry("v4", type_code="SYNTH", when=datetime(2027, 1, 1, tzinfo=UTC))
    wrong_patient = replace(wrong_patient, patient=replace(INS, kind=InsKind.NIR))
    report = entry("r1", when=datetime(2027, 1, 1, tzinfo=UTC))
    newer = full_summary()
    newer.vigilance_points = ["récent"]
    client = Registry(
        [mine_old, mine_masked, other, wrong_patient, report],
        {"v3": build_vsm(newer)},
    )
    # A masked VSM is one of mine (the DMP shows it to me): naive and aware dates compare.
    assert vsm.my_previous_vsm(client, INS, "899700433153") == mine_masked
    assert vsm.my_previous_vsm(client, INS, "nobody") is None
    latest = vsm.latest_vsm(client, INS)
    assert latest is not None and latest.vigilance_points == ["récent"]
    query = client.queries[0][0]
    assert query.include_masked and query.since is None
    assert query.statuses == frozenset({DocumentStatus.APPROVED})
    assert [c.code for c in query.type_codes] == ["SYNTH"]
    assert vsm.latest_vsm(Registry([]), INS) is None
    again = vsm.next_version(latest, sample_author())  # written by its own author
    assert again.treating_physician is not None  # Dr Durand stays the médecin traitant
    assert again.version == latest.version + 1 and again.document_id is None


# -- the record's life ----------------------------------------------------------------------------
def test_creation_needs_the_consent_and_for_a_minor_the_representatives() -> None:
    adult = PatientIdentity("MOREAU", "Léa", "F", date(1980, 5, 25))
    minor = PatientIdentity("MOREAU", "Tom", "M", date(2020, 5, 25))
    yes = CreationConsent(consent_given=True)
    assert records.creation_problem(adult, CreationConsent(consent_given=False)) == "creation"
    assert records.creation_problem(adult, yes) is None
    assert records.creation_problem(minor, yes) == "legal_representative"
    unnamed = CreationConsent(True, legal_representative=LegalRepresentative(" ", "Anne", True))
    assert records.creation_problem(minor, unnamed) == "legal_representative"
    refused = CreationConsent(True, legal_representative=LegalRepresentative("M", "Anne", False))
    assert records.creation_problem(minor, refused) == "legal_representative"
    agreed = CreationConsent(True, legal_representative=LegalRepresentative("M", "Anne", True))
    assert records.creation_problem(minor, agreed) is None


def test_closure_reason_and_who_may_act() -> None:
    assert records.closure_problem(records.CLOSURE_PATIENT_REQUEST, "  abc ") == "too_short"
    assert records.closure_problem(records.CLOSURE_PATIENT_REQUEST, "Démé nage") is None
    assert records.closure_problem("AUTRE", "Déménagement") == "kind"
    rules = records.record_action_refusals(status(), secretary())
    assert rules["close"] == "staff" and rules["create"] == "has_dmp"
    closed = records.record_action_refusals(status(state=DmpState.CLOSED), doctor())
    assert closed["reactivate"] is None and closed["close"] == "closed"
    none = records.record_action_refusals(status(state=DmpState.NONE), doctor())
    assert none["create"] is None and none["close"] == "no_dmp"
    expired = records.record_action_refusals(status(authorization=Authorization.EXPIRE), doctor())
    assert expired["admin_data"] == "no_authorisation"


def test_a_minors_secret_connection_only_on_a_minors_open_record() -> None:
    adult = records.record_action_refusals(status(), doctor())
    assert adult["secret"] == "not_minor"
    minor = records.record_action_refusals(status(minor=True), doctor())
    assert minor["secret"] is None
    assert records.record_action_refusals(status(minor=True), secretary())["secret"] == "staff"
    blocked = status(minor=True, authorization=Authorization.INTERDIT)
    assert records.record_action_refusals(blocked, doctor())["secret"] == "blocked"
    closed = status(minor=True, state=DmpState.CLOSED)
    assert records.record_action_refusals(closed, doctor())["secret"] == "closed"
    assert set(records.record_action_refusals(None, None)) == set(records.RECORD_ACTIONS)
