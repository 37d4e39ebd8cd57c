"""Staff uploads in the core: the practice's professionals in the settings, the
"on behalf of" rules of validate_upload, and the metadata of the submission (the
document's author is the professional, the submission set stays the card holder's)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from lxml import etree

from dmp_desktop.alimentation import build
from dmp_desktop.alimentation.outbox import _request_from_json, _request_to_json
from dmp_desktop.alimentation.request import check_upload, require_valid, validate_upload
from dmp_desktop.dmp import iti41, rim
from dmp_desktop.dmp.feed_errors import OnBehalfRefusedError, UploadInvalidError
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.errors import SettingsError, describe
from dmp_desktop.settings import Settings, load_settings, save_settings
from tests.unit.test_alimentation_support import TODAY, request

SECRETARY = Practitioner(
    national_id="3499700433153007/SEC0001",
    family_name="BERNARD",
    given_name="SOPHIE",
    profession="Secrétaire médicale",
    structure_id="499700433153007",
    structure_name="CABINET DES TILLEULS",
)
DURAND_RAW: dict[str, Any] = {
    "national_id": "899700433153",
    "family_name": "Durand",
    "given_name": "Marie",
    "profession_code": "10",
    "profession": "Médecin",
    "specialty_code": "SM26",
}
MARTIN_RAW: dict[str, Any] = {
    "national_id": "899700433160",
    "family_name": "Martin",
    "given_name": "Paul",
    "profession_code": "10",
}
SETTINGS = Settings(
    structure_id="499700433153007",
    practice_professionals=[DURAND_RAW, MARTIN_RAW],
    profile="formation",
)
DURAND = SETTINGS.professionals()[0]
MARTIN = SETTINGS.professionals()[1]


# --- settings ----------------------------------------------------------------------------------


def test_practice_professionals_are_typed_and_survive_the_settings_file(tmp_path: Any) -> None:
    path = tmp_path / "settings.json"
    save_settings(SETTINGS, path)
    loaded = load_settings(path)
    assert loaded.professionals() == [DURAND, MARTIN]
    assert DURAND.display_line == "Dr Marie DURAND, médecin"
    assert MARTIN.profession == "Médecin"  # label from the G15 code
    assert not DURAND.is_staff and DURAND.specialty_code == "SM26"
    assert loaded.professional(" 899700433160 ") == MARTIN
    assert loaded.professional("899700433999") is None
    assert Settings().professionals() == []


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("Dr Durand", "entrée illisible"),
        ({**DURAND_RAW, "national_id": ""}, "« national_id » manque"),
        ({**DURAND_RAW, "national_id": "8997 0043"}, "identifiant national"),
        ({**DURAND_RAW, "family_name": "  "}, "« family_name » manque"),
        ({**DURAND_RAW, "profession_code": "99"}, "code de profession « 99 » inconnu"),
        ({**DURAND_RAW, "given_name": 12}, "doit être un texte"),
    ],
)
def test_a_bad_professional_is_a_settings_error_in_french(entry: object, words: str) -> None:
    settings = Settings(practice_professionals=[DURAND_RAW, entry])  # type: ignore[list-item]
    with pytest.raises(SettingsError) as caught:
        settings.validate()
    assert "professionnel n° 2 du cabinet" in describe(caught.value)
    assert words in describe(caught.value)


def test_the_training_environment_lists_durand_and_martin(tmp_path: Any) -> None:
    from dmp_sandbox.training import TrainingEnv

    env = TrainingEnv(tmp_path, 8443)
    ids = [(p.national_id, p.display_name) for p in env.client_settings().professionals()]
    assert ids == [("899700433153", "Dr Marie DURAND"), ("899700433160", "Dr Paul MARTIN")]


# --- validation --------------------------------------------------------------------------------


def test_a_staff_card_must_name_the_professional() -> None:
    req = request()
    assert check_upload(req, today=TODAY, holder=SECRETARY) == ["on_behalf_of_missing"]
    assert any("Pour le compte de" in m for m in validate_upload(req, SECRETARY))
    with pytest.raises(UploadInvalidError):
        require_valid(req, SECRETARY)
    ok = dataclasses.replace(req, on_behalf_of=DURAND)
    assert check_upload(ok, today=TODAY, holder=SECRETARY) == []


def test_the_author_is_never_a_secretary() -> None:
    req = request(on_behalf_of=SECRETARY)
    assert check_upload(req, today=TODAY, holder=SECRETARY) == ["on_behalf_of_staff"]
    assert check_upload(req, today=TODAY) == ["on_behalf_of_staff"]


def test_a_professional_uploads_only_as_themself() -> None:
    assert check_upload(request(), today=TODAY, holder=DURAND) == []
    assert check_upload(request(on_behalf_of=DURAND), today=TODAY, holder=DURAND) == []
    mine_for_other = request(on_behalf_of=MARTIN)
    assert check_upload(mine_for_other, today=TODAY, holder=DURAND) == ["on_behalf_of_not_staff"]
    assert "seul un secrétariat" in validate_upload(mine_for_other, DURAND)[0]


def test_the_outbox_keeps_on_behalf_of() -> None:
    req = request(on_behalf_of=DURAND)
    assert _request_from_json(_request_to_json(req, req.data())).on_behalf_of == DURAND
    plain = request()
    assert _request_from_json(_request_to_json(plain, plain.data())).on_behalf_of is None


def test_a_refusal_for_the_professional_is_explained() -> None:
    text = describe(OnBehalfRefusedError("DMPAccessDenied", MARTIN.display_name))
    assert "Dr Paul MARTIN n'est pas autorisé par le patient" in text
    blocked = describe(OnBehalfRefusedError("DMPAccessDeniedByExcludedPs", "Dr Paul MARTIN"))
    assert "interdit l'accès à son DMP à Dr Paul MARTIN" in blocked


# --- metadata ----------------------------------------------------------------------------------


def _slots(el: etree._Element) -> dict[str, list[str]]:
    ns = {"r": iti41.RIM}
    return {
        str(s.get("name")): [str(v.text) for v in s.findall("r:ValueList/r:Value", ns)]
        for s in el.findall("r:Slot", ns)
    }


def test_document_author_is_the_professional_and_the_submission_set_the_secretary() -> None:
    card = build.author_provider(SECRETARY, SETTINGS)
    provider = build.author_provider(
        dataclasses.replace(
            DURAND, structure_id=card.structure.id, structure_name=card.structure.name
        ),
        SETTINGS,
    )
    document_author = build.author_values(provider)
    assert document_author.person.startswith("899700433153^Durand^Marie^")
    assert document_author.institution == rim.xon("CABINET DES TILLEULS", "499700433153007")
    assert document_author.specialty is not None and "G15_10/SM26" in document_author.specialty
    req = request(on_behalf_of=DURAND)
    now = dt.datetime(2026, 3, 12, 10, 0, tzinfo=dt.UTC)
    built = build.build_document(req, provider, unique_id="1.2.250.1.999.7", now=now)
    assert b'extension="899700433153"' in built.content
    assert SECRETARY.national_id.encode() not in built.content
    secretary = rim.AuthorValues(person=rim.xcn(SECRETARY.national_id, "BERNARD", "SOPHIE"))
    submission = build.build_submission(
        req,
        built,
        author=secretary,
        document_author=document_author,
        structure=build.structure_info(provider),
        submission_unique_id="1.2.250.1.999.8",
        signature_unique_id="1.2.250.1.999.9",
        source_id="1.2.250.1.999",
        submission_time=now,
    )
    body, _parts = iti41.build_request(submission, b"<signature/>")
    ns = {"r": iti41.RIM}
    package = body.find(".//r:RegistryPackage", ns)
    assert package is not None
    people: dict[str, list[str]] = {}
    for cl in body.iter(f"{{{iti41.RIM}}}Classification"):
        person = _slots(cl).get("authorPerson")
        if person:
            people.setdefault(str(cl.get("classifiedObject")), []).extend(person)
    assert people[str(package.get("id"))] == [secretary.person]
    documents = [eo for eo in body.iter(f"{{{iti41.RIM}}}ExtrinsicObject")]
    assert len(documents) == 2  # the document and the signature
    for eo in documents:
        assert people[str(eo.get("id"))] == [document_author.person]
        assert _slots(eo)["legalAuthenticator"] == [document_author.person]


# --- dmp upload --on-behalf-of ----------------------------------------------------------------


def _upload_args(tmp_path: Any, *extra: str) -> list[str]:
    from dmp_sandbox.demo import demo_patients

    lea = next(p for p in demo_patients() if p.key == "actif-autorise")
    config = tmp_path / "settings.json"
    save_settings(dataclasses.replace(SETTINGS, ins_kind="TEST_NIR"), config)
    pdf = tmp_path / "courrier.pdf"
    pdf.write_bytes(request().data())
    return [
        "--config",
        str(config),
        "upload",
        str(pdf),
        "--ins",
        lea.ins.value,
        "--type",
        "11488-4",
        "--not-masked",
        "--visible-patient",
        "--visible-legal-reps",
        "--birth-name",
        "MOREAU",
        "--given-names",
        "LÉA",
        "--birth-date",
        "2007-05-25",
        "--sex",
        "F",
        "--birthplace",
        "69383",
        *extra,
    ]


def test_cli_on_behalf_of_must_be_a_professional_of_the_practice(tmp_path: Any) -> None:
    import io

    from dmp_desktop.cli.main import EXIT_USAGE, Io, main

    out, err = io.StringIO(), io.StringIO()
    code = main(
        _upload_args(tmp_path, "--on-behalf-of", "899700433999"),
        io=Io(out, err, io.StringIO()),
        open_dmp=lambda *_a: pytest.fail("no connection for an unknown professional"),
    )
    assert code == EXIT_USAGE
    assert "899700433999 n'est pas dans la liste des professionnels du cabinet" in err.getvalue()
