"""Errors of the CDA layer: typed, carrying data (paths, reasons), never health data.

:func:`describe_fr` gives the French sentence for each; the application's
single translation point (``dmp_desktop.errors.describe``) can delegate to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dmp_desktop.errors import DmpDesktopError


class CdaError(DmpDesktopError):
    """Base of the CDA layer's errors."""


class CdaFormatError(CdaError):
    """A document that is not the CDA we expected (not CDA, wrong type, no body...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EmptyPayloadError(CdaError):
    """A level-1 document was asked for an empty PDF or text."""


@dataclass(frozen=True)
class SummaryProblem:
    """Something that prevents building a valid VSM: where (a model path) and why (a code)."""

    path: str
    reason: str


class SummaryInvalidError(CdaError):
    """The summary cannot become a valid VSM; ``problems`` lists every reason found."""

    def __init__(self, problems: list[SummaryProblem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.reason}" for p in problems))
        self.problems = problems


class ValidationKitMissingError(CdaError):
    """The ANS CDA validation kit (validate-cda) could not be found."""

    def __init__(self, searched: list[str]) -> None:
        super().__init__(", ".join(searched))
        self.searched = searched


class ValidationRunError(CdaError):
    """validate-cda ran but its report could not be obtained."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_REASONS_FR: dict[str, str] = {
    "required": "est obligatoire",
    "empty": "ne peut pas être vide",
    "birthplace_required": (
        "le lieu de naissance (code INSEE de la commune, ou 99xxx pour un pays étranger) "
        "est obligatoire avec l'INS"
    ),
    "unknown_code": "n'est pas un code connu",
    "bad_format": "n'a pas le format attendu",
    "naive_time": "doit comporter le fuseau horaire",
    "resolution_needs_resolved": "une date de fin implique le statut « résolu »",
    "conflicts_with_allergies": "« aucune allergie connue » alors que des allergies sont saisies",
}

_PATHS_FR: dict[str, str] = {
    "patient": "Patient",
    "author": "Auteur",
    "treating_physician": "Médecin traitant",
    "active_problems": "Pathologie en cours",
    "medical_history": "Antécédent médical",
    "surgical_history": "Antécédent chirurgical",
    "allergies": "Allergie",
    "lifestyle": "Mode de vie",
    "occupational_risks": "Facteur de risque professionnel",
    "family_history": "Antécédent familial",
    "vigilance_points": "Point de vigilance",
    "treatments": "Traitement",
    "no_known_allergies": "Allergies",
    "effective_time": "Document",
    "document_id": "Document",
    "set_id": "Document",
    "version": "Document",
    "title": "Document",
    "type_code": "Document",
}


_FIELDS_FR: dict[str, str] = {
    "birth_family_name": "nom de naissance",
    "birth_given_names": "prénoms de naissance",
    "birthplace_code": "lieu de naissance",
    "root": "identifiant local",
    "extension": "identifiant local",
    "national_id": "identifiant national",
    "family_name": "nom",
    "given_name": "prénom",
    "id": "identifiant de la structure",
    "name": "nom",
    "facility_type": "type de structure",
    "practice_setting": "cadre d'exercice",
    "effective_time": "date",
    "document_id": "identifiant du document",
    "set_id": "identifiant du lot de versions",
    "version": "version",
    "title": "titre",
    "label": "libellé",
    "cim10": "code CIM-10",
    "ccam": "code CCAM",
    "resolution": "date de fin",
    "agent": "agent",
    "type_code": "type",
    "agent_cis": "code CIS",
    "agent_atc": "code ATC",
    "cis": "code CIS",
    "cip": "code CIP",
    "atc": "code ATC",
    "text": "texte",
    "quantity": "quantité",
    "unit": "unité",
    "relationship": "lien de parenté",
}


def describe_fr(exc: CdaError) -> str:
    """A French sentence for the user (no health data: only field positions and reasons)."""
    if isinstance(exc, SummaryInvalidError):
        lines = []
        for problem in exc.problems:
            head = problem.path.split("[", 1)[0].split(".", 1)[0]
            where = _PATHS_FR.get(head, problem.path)
            index = problem.path[len(head) :]
            if index.startswith("["):
                number = index[1:].split("]", 1)[0]
                if number.isdigit():
                    where = f"{where} n° {int(number) + 1}"
            if "." in problem.path:
                field = problem.path.rsplit(".", 1)[-1]
            else:
                field = problem.path if problem.path in _FIELDS_FR else ""
            detail = f" ({_FIELDS_FR.get(field, field)})" if field else ""
            lines.append(f"{where}{detail} : {_REASONS_FR.get(problem.reason, problem.reason)}.")
        return "Le document ne peut pas être généré :\n" + "\n".join(lines)
    if isinstance(exc, EmptyPayloadError):
        return "Le document à envoyer est vide : choisissez un fichier PDF ou saisissez un texte."
    if isinstance(exc, CdaFormatError):
        return "Ce document n'est pas un document CDA lisible ; il n'a pas été ouvert."
    if isinstance(exc, ValidationKitMissingError):
        return "Le kit de validation CDA de l'ANS est introuvable (variable DMP_CDA_KIT)."
    if isinstance(exc, ValidationRunError):
        return "La validation du document CDA n'a pas pu être exécutée."
    return "Erreur sur un document CDA."
