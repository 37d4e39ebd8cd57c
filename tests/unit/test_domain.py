"""INS checks and the French wording of a DMP status."""

from __future__ import annotations

import pytest

from dmp_desktop.domain import Authorization, DmpState, DmpStatus, Ins, InsError, InsKind, nir_key
from dmp_desktop.domain.patient import check_ins_text
from dmp_desktop.errors import describe


def test_nir_key_matches_the_official_example() -> None:
    # The CNAM's TD0.2 example uses the test INS 207058575627097.
    assert nir_key("2070585756270") == 97
    assert Ins.parse("2 07 05 85 756 270 97").value == "207058575627097"


def test_corsican_nir_key() -> None:
    nir = "185072A123456"
    key = 97 - (int("1850719123456") % 97)
    assert nir_key(nir) == key
    assert Ins.parse(f"{nir}{key:02d}").value.endswith(f"{key:02d}")


@pytest.mark.parametrize(
    ("text", "complete", "valid"),
    [
        ("", False, False),
        ("20705", False, False),
        ("207058575627097", True, True),
        ("207058575627098", True, False),
        ("2070585756270971", True, False),
        ("20705857562709X", False, False),
    ],
)
def test_ins_check_as_you_type(text: str, complete: bool, valid: bool) -> None:
    check = check_ins_text(text)
    assert (check.complete, check.valid) == (complete, valid)
    assert check.message


def test_wrong_key_is_explained_in_french() -> None:
    with pytest.raises(InsError) as caught:
        Ins.parse("207058575627098")
    assert describe(caught.value) == (
        "La clé de l'INS ne correspond pas au numéro : vérifiez la saisie."
    )


def test_cx_and_masking() -> None:
    ins = Ins.parse("207058575627097", InsKind.TEST_NIR)
    assert ins.cx() == "207058575627097^^^&1.2.250.1.213.1.4.10&ISO^NH"
    assert "0585756" not in ins.masked()


def test_status_summaries() -> None:
    ins = Ins.parse("207058575627097", InsKind.TEST_NIR)
    assert DmpStatus(ins, DmpState.NONE).summary_fr() == "Ce patient n'a pas de DMP."
    active = DmpStatus(ins, DmpState.ACTIVE, Authorization.VALIDE, treating_physician=True)
    assert "autorisation" in active.summary_fr() and "médecin traitant" in active.summary_fr()
    blocked = DmpStatus(ins, DmpState.ACTIVE, Authorization.INTERDIT)
    assert "bloqué" in blocked.summary_fr()


@pytest.mark.parametrize(
    "code",
    [
        "DMPInvalidDocument",
        "XDSRepositoryMetadataError",
        "XDSRegistryDuplicateUniqueIdInMessage",
        "XDSMissingDocumentMetadata",
        "XDSMetadataUpdateError",
        "DMPEmergencyAccessOpposed",
        "DMPNotAuthor",
    ],
)
def test_every_code_the_training_host_sends_has_a_french_message(code: str) -> None:
    from dmp_desktop.errors import DmpServiceError, describe

    text = describe(DmpServiceError(code))
    assert code not in text and "refusé la demande (code" not in text
