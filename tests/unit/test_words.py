"""French that agrees with the patient's sex, a secretary's status, quantities in words."""

from __future__ import annotations

from decimal import Decimal

from dmp_desktop.cda.vsm import build_vsm
from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.terminology.ucum import quantity_text
from tests.support.cda_samples import full_summary

INS = Ins("207058575627097", InsKind.TEST_NIR)


def status(gender: str | None, authorization: Authorization, **kw: object) -> DmpStatus:
    return DmpStatus(
        INS,
        DmpState.ACTIVE,
        authorization,
        patient_gender=gender,
        **kw,  # type: ignore[arg-type]
    )


def test_the_status_sentence_agrees_with_a_woman() -> None:
    said = status("F", Authorization.NON_EXISTE, minor=True).summary_fr()
    assert said == (
        "La patiente a un DMP actif. Vous n'avez pas encore d'autorisation d'accès : "
        "demandez à la patiente son consentement. Patiente mineure : le DMP est géré par "
        "ses représentants légaux."
    )
    assert status("F", Authorization.INTERDIT).summary_fr() == (
        "La patiente a un DMP actif. La patiente vous a bloqué : vous ne pouvez pas accéder "
        "à son DMP."
    )
    closed = DmpStatus(INS, DmpState.CLOSED, patient_gender="F")
    assert closed.summary_fr() == "Le DMP de cette patiente a été fermé."
    # A man, or a sex the DMP does not give: the usual words.
    for gender in ("M", None):
        assert (
            status(gender, Authorization.EXPIRE)
            .summary_fr()
            .startswith(
                "Le patient a un DMP actif. Votre autorisation d'accès a expiré : demandez à "
                "nouveau le consentement du patient."
            )
        )


def test_a_secretary_is_told_what_she_may_do() -> None:
    for authorization in (Authorization.NON_EXISTE, Authorization.VALIDE):
        said = status("F", authorization, treating_physician=True).summary_fr(staff=True)
        assert said == (
            "La patiente a un DMP actif. Secrétariat : vous pouvez envoyer des documents "
            "dans ce DMP pour un professionnel du cabinet, sans pouvoir le consulter."
        )


def test_quantities_in_words() -> None:
    assert quantity_text(Decimal(25), "{pack}/a") == "25 paquets-années"
    assert quantity_text(Decimal(1), "{pack}/a") == "1 paquet-année"
    assert quantity_text(Decimal("1.5"), "{verre}/d") == "1,5 verre par jour"
    assert quantity_text(Decimal(3), "{inconnu}/d") == "3 inconnu/d"  # never braces


def test_the_summarys_narrative_has_no_raw_unit() -> None:
    document = build_vsm(full_summary()).decode()
    assert "paquets-années" in document
    assert ">25 {pack}/a<" not in document and "{pack}/a</" not in document


def test_the_rendered_header_agrees_with_the_patients_sex() -> None:
    from dmp_desktop.cda.render import render_html

    html = render_html(build_vsm(full_summary()))
    assert "né(e)" not in html
    assert " le " in html and ("née le " in html or "né le " in html)
