"""The patient-finding use cases (no network: a recording stand-in for the DMP client)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dmp_desktop.dmp import insi, td04, td05
from dmp_desktop.domain import Ins, InsKind
from dmp_desktop.identity.traits import IdentitySource, IdentityTraits, InsIdentity, TraitsQuery
from dmp_desktop.storage.recent_patients import MAX_RECENT, RecentPatients
from dmp_desktop.storage.secure import CorruptFileError, SecureStore
from dmp_desktop.usecases.patients import (
    Candidate,
    PatientFinder,
    merge,
    parse_patient_text,
)

LEA_INS = Ins("207058575627097", InsKind.TEST_NIR)
JULIEN_INS = Ins("182116938311206", InsKind.TEST_NIR)
HOMONYM_INS = Ins("182115935018727", InsKind.TEST_NIR)


def identity(
    ins: Ins = LEA_INS,
    name: str = "MOREAU",
    given: tuple[str, ...] = ("LEA",),
    sex: str = "F",
    born: dt.date = dt.date(2007, 5, 25),
    *,
    qualified: bool = False,
    used_name: str | None = None,
) -> InsIdentity:
    source = IdentitySource.INSI if qualified else IdentitySource.DMP
    traits = IdentityTraits(name, given, sex, born, "85756" if qualified else None, qualified)
    return InsIdentity(ins, traits, source, qualified=qualified, used_name=used_name)


class FakeDmp:
    """Records the calls; answers what the test says."""

    def __init__(self) -> None:
        self.insi = insi.InsiResult("01", "Aucune identite trouvee")
        self.pdq: list[td05.PdqMatch] = []
        self.rows: list[td04.AuthorisedPatient] = []
        self.calls: list[object] = []

    def search_ins(self, query: TraitsQuery, signer: object) -> insi.InsiResult:
        self.calls.append(("insi", query))
        return self.insi

    def search_patients(self, query: td05.PdqQuery) -> list[td05.PdqMatch]:
        self.calls.append(("td05", query))
        return self.pdq

    def list_authorised_patients(self, *args: object) -> list[td04.AuthorisedPatient]:
        self.calls.append(("td04",))
        return self.rows


@pytest.fixture
def recent(tmp_path: Path) -> RecentPatients:
    return RecentPatients(SecureStore(tmp_path / "store", b"k" * 32))


# --- the patient field -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("207 05 85 756 270 97", {"ins": LEA_INS}),
        ("MOREAU 25/05/2007", {"family_name": "MOREAU", "birth_date": dt.date(2007, 5, 25)}),
        (
            "moreau léa 2007-05-25 F",
            {
                "family_name": "moreau",
                "given_names": ("léa",),
                "birth_date": dt.date(2007, 5, 25),
                "sex": "F",
            },
        ),
        (
            "LE GALL, Marie Anne 01.02.1980",
            {
                "family_name": "LE GALL",
                "given_names": ("Marie", "Anne"),
                "birth_date": dt.date(1980, 2, 1),
            },
        ),
        ("moreau 25052007", {"family_name": "moreau", "birth_date": dt.date(2007, 5, 25)}),
        ("moreau 31/02/2007", {"family_name": "moreau", "given_names": ("31/02/2007",)}),
        ("2070585", {}),
    ],
)
def test_the_patient_field_understands_an_ins_or_a_name_and_a_date(
    text: str, expected: dict[str, object]
) -> None:
    query = parse_patient_text(text, InsKind.TEST_NIR)
    for key, value in expected.items():
        assert getattr(query, key) == value, key
    if not expected:
        assert not query.usable


def test_a_wrong_ins_key_is_not_an_ins() -> None:
    query = parse_patient_text("207058575627098", InsKind.TEST_NIR)
    assert query.ins is None and not query.usable


def test_insi_needs_every_required_trait() -> None:
    assert parse_patient_text("MOREAU 25/05/2007").traits_query() is None
    query = parse_patient_text("MOREAU LEA F 25/05/2007").traits_query()
    assert query == TraitsQuery("MOREAU", ("LEA",), "F", dt.date(2007, 5, 25))


# --- recent patients ---------------------------------------------------------------------------


def test_recent_patients_are_per_professional_and_encrypted(
    recent: RecentPatients, tmp_path: Path
) -> None:
    recent.record("899700433153", identity(qualified=True))
    recent.record("899700433153", identity(JULIEN_INS, "LEFEBVRE", ("JULIEN",), "M"))
    assert [p.identity.ins for p in recent.load("899700433153")] == [JULIEN_INS, LEA_INS]
    assert recent.load("899700433160") == []  # another card sees nothing
    blobs = b"".join(p.read_bytes() for p in (tmp_path / "store").glob("*.enc"))
    for clear in (b"MOREAU", b"207058575627097", b"899700433153", b"LEFEBVRE"):
        assert clear not in blobs
    assert all("8997" not in p.name for p in (tmp_path / "store").iterdir())


def test_a_qualified_identity_is_never_downgraded(recent: RecentPatients) -> None:
    recent.record("me", identity(qualified=True))
    recent.record("me", identity(name="Moreau"))  # the DMP's copy, opened later
    kept = recent.load("me")[0].identity
    assert kept.qualified and kept.traits.birthplace == "85756"
    assert kept.source is IdentitySource.INSI


def test_the_list_is_bounded_and_most_recent_first(recent: RecentPatients) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for number in range(MAX_RECENT + 5):
        nir = f"1{number:02d}01751200{number:02d}"[:13]
        key = 97 - int(nir) % 97
        ins = Ins(f"{nir}{key:02d}", InsKind.TEST_NIR)
        recent.record("me", identity(ins, f"NOM{number}"), start + dt.timedelta(minutes=number))
    kept = recent.load("me")
    assert len(kept) == MAX_RECENT
    assert kept[0].identity.traits.birth_name == f"NOM{MAX_RECENT + 4}"


def test_a_damaged_entry_is_skipped_and_a_foreign_file_refused(
    recent: RecentPatients, tmp_path: Path
) -> None:
    recent.record("me", identity())
    name = recent.name_for("me")
    store = SecureStore(tmp_path / "store", b"k" * 32)
    raw = store.read_json(name)
    raw["patients"].append({"ins": "123", "oid": "x"})
    store.write_json(name, raw)
    assert [p.identity.ins for p in recent.load("me")] == [LEA_INS]
    other = RecentPatients(SecureStore(tmp_path / "store", b"z" * 32))
    with pytest.raises(CorruptFileError):
        other.load("me")


def test_forget(recent: RecentPatients) -> None:
    recent.record("me", identity())
    recent.record("me", identity(JULIEN_INS, "LEFEBVRE", ("JULIEN",), "M"))
    recent.forget("me", LEA_INS)
    assert [p.identity.ins for p in recent.load("me")] == [JULIEN_INS]
    recent.forget("me")
    assert recent.load("me") == []


# --- the use cases -----------------------------------------------------------------------------


def test_recent_patients_come_first_without_any_network(recent: RecentPatients) -> None:
    dmp = FakeDmp()
    finder = PatientFinder(dmp, "me", recent)
    finder.opened(identity(qualified=True))
    found = finder.find(parse_patient_text("mor"))
    assert [c.ins for c in found] == [LEA_INS] and found[0].recent
    assert dmp.calls == []  # a name without a birth date: local only
    assert finder.suggest(parse_patient_text("")) == found  # empty field: every recent patient


def test_a_name_and_a_date_ask_the_dmp_and_merge(recent: RecentPatients) -> None:
    dmp = FakeDmp()
    dmp.pdq = [
        td05.PdqMatch(identity(name="MOREAU"), "dmp-1", 100),
        td05.PdqMatch(identity(JULIEN_INS, "MOREAU", ("PAUL",), "M"), "dmp-2", 100),
    ]
    finder = PatientFinder(dmp, "me", recent)
    finder.opened(identity(qualified=True))
    found = finder.find(parse_patient_text("moreau 25/05/2007"))
    assert [c.ins for c in found] == [LEA_INS, JULIEN_INS]
    assert found[0].recent and found[0].identity.qualified  # the qualified copy wins
    assert dmp.calls == [("td05", td05.PdqQuery("moreau", None, dt.date(2007, 5, 25), None))]


def test_search_by_traits_asks_insi_then_the_dmp(recent: RecentPatients) -> None:
    dmp = FakeDmp()
    qualified = identity(qualified=True)
    dmp.insi = insi.InsiResult("00", "OK", qualified)
    dmp.pdq = [
        td05.PdqMatch(identity(), "dmp-1", 100),
        td05.PdqMatch(identity(HOMONYM_INS), "dmp-2", 100),
    ]
    query = TraitsQuery("MOREAU", ("LEA",), "F", dt.date(2007, 5, 25))
    search = PatientFinder(dmp, "me", recent).search_by_traits(query, signer=object())  # type: ignore[arg-type]
    assert search.identity == qualified and search.advice_fr == ""
    assert [(c.ins, c.differs_from_insi) for c in search.dmp] == [
        (LEA_INS, False),
        (HOMONYM_INS, True),
    ]
    assert [c[0] for c in dmp.calls] == ["insi", "td05"]


@pytest.mark.parametrize(("code", "word"), [("01", "tous les prénoms"), ("02", "autres prénoms")])
def test_search_by_traits_says_what_to_try(recent: RecentPatients, code: str, word: str) -> None:
    dmp = FakeDmp()
    dmp.insi = insi.InsiResult(code, "...")
    query = TraitsQuery("LEFEBVRE", ("JULIEN",), "M", dt.date(1982, 11, 2))
    search = PatientFinder(dmp, "me", recent).search_by_traits(query, signer=object())  # type: ignore[arg-type]
    assert search.identity is None and word in search.advice_fr


def test_my_patients_are_sorted_by_name(recent: RecentPatients) -> None:
    dmp = FakeDmp()

    def row(ins: Ins, name: str, given: str) -> td04.AuthorisedPatient:
        return td04.AuthorisedPatient(
            identity(ins, name, (given,)), None, False, False, None, None, None
        )

    dmp.rows = [row(LEA_INS, "MOREAU", "LEA"), row(JULIEN_INS, "Chevalier", "EMMA")]
    names = [r.identity.traits.birth_name for r in PatientFinder(dmp, "me", recent).my_patients()]
    assert names == ["Chevalier", "MOREAU"]


def test_merge_keeps_one_line_per_ins() -> None:
    a = Candidate(identity(qualified=True), recent=True)
    b = Candidate(identity(), dmp_state="active")
    merged = merge([a], [b])
    assert len(merged) == 1 and merged[0].recent and merged[0].dmp_state == "active"
