"""Document types a professional may upload (value set J07) and the class each one implies.

The type is chosen in J07 (``dmp_desktop.cda.valuesets.DOCUMENT_TYPES``,
code and label) and the XDS ``classCode`` (TRE_A03, 1.2.250.1.213.1.1.4.1) is
derived from it, never asked for. The derivation follows the pairs of the
official TD3.1 answer (11488-4, 11490-0, 11502-2, 15507-7... -> 10 "Compte
rendu"; SYNTH -> 11 "Synthèse"; prescriptions -> 42; dispensations -> 43;
care plans and ALD protocols -> 44; certificates -> 52) and the TRE_A03
classes; a type this table does not name is a report (10).

Types the patient or the health insurance deposit (``DOCPAT*``,
``EXPPAT_*``, ``REMB``), technical ones (style sheets, exports, the XDS-I
manifest ``IMG-KOS``, the signature ``E1762``) are not offered.
"""

from __future__ import annotations

import re
import unicodedata

from dmp_desktop.cda import valuesets
from dmp_desktop.domain.document import Code

OID_CLASS_CODES = "1.2.250.1.213.1.1.4.1"

CLASS_LABELS: dict[str, str] = {
    "10": "Compte rendu",
    "11": "Synthèse",
    "31": "Imagerie médicale",
    "42": "Prescription",
    "43": "Dispensation",
    "44": "Plan de soins, protocole de soins",
    "45": "Traitement administré",
    "52": "Certificat, déclaration",
    "60": "Données de remboursement",
    "90": "Autres documents déposés par le patient",
}

_CLASS_BY_TYPE: dict[str, str] = {
    # 11 Synthèse
    "SYNTH": "11",
    "60591-5": "11",
    "34133-9": "11",
    "68599-0": "11",
    "57055-6": "11",
    "57057-2": "11",
    "57075-4": "11",
    "89235-6": "11",
    "78489-2": "11",
    # 31 Imagerie médicale
    "52040-3": "31",
    # 42 Prescription
    "57828-6": "42",
    "57832-8": "42",
    "57833-6": "42",
    "55115-0": "42",
    "75496-0": "42",
    # 43 Dispensation
    "DISP_AUT": "43",
    "60593-1": "43",
    # 44 Plan de soins, protocole de soins
    "18776-5": "44",
    "PROT_ALD": "44",
    "77604-7": "44",
    "83869-8": "44",
    "80788-3": "44",
    "80771-9": "44",
    # 45 Traitement administré
    "80565-5": "45",
    # 52 Certificat, déclaration
    "CERT_DECL": "52",
    "59284-0": "52",
    "89601-9": "52",
    "96874-3": "52",
    "AUTORIS-SOINS": "52",
}
_CLASS_BY_PREFIX = (("PRESC-", "42"), ("ATTEST-", "52"))

_NOT_FOR_PROFESSIONALS_PREFIXES = ("DOCPAT", "EXPPAT_")
_NOT_FOR_PROFESSIONALS = frozenset(
    {"REMB", "FEUILLE-DE-STYLE", "EXPORT_DUI", "IMG-KOS", "E1762", "PIECE-IDENTITE"}
)


def is_known_type(code: str) -> bool:
    return code in valuesets.DOCUMENT_TYPES


def for_professionals(code: str) -> bool:
    """May a professional's software upload a document of this J07 type?"""
    return (
        is_known_type(code)
        and code not in _NOT_FOR_PROFESSIONALS
        and not code.startswith(_NOT_FOR_PROFESSIONALS_PREFIXES)
    )


def type_code(code: str) -> Code:
    """The J07 type as a :class:`Code` (scheme and label of the value set); KeyError if unknown."""
    scheme, label = valuesets.DOCUMENT_TYPES[code]
    return Code(code, label, scheme)


def class_for_type(code: str) -> Code:
    """The classCode (TRE_A03) a J07 type implies."""
    klass = _CLASS_BY_TYPE.get(code)
    if klass is None:
        klass = next((c for prefix, c in _CLASS_BY_PREFIX if code.startswith(prefix)), "10")
    return Code(klass, CLASS_LABELS[klass], OID_CLASS_CODES)


def professional_types() -> list[Code]:
    """Every type a professional may choose, sorted by label (French collation, accents ignored)."""
    codes = [type_code(c) for c in valuesets.DOCUMENT_TYPES if for_professionals(c)]
    return sorted(codes, key=lambda c: _fold(c.display))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


# The words doctors use for a document, and the J07 types they mean, most likely first.
# Reviewed for general practice (issue #15): the official labels say « Prescription de
# produits de santé » where a doctor says « ordonnance », « CR d'imagerie médicale » for
# « écho ». Keys are folded (no accents, lower case); a typed word finds every key it starts.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "ordonnance": ("57833-6", "57832-8", "PRESC-BIO", "PRESC-KINE", "PRESC-INF", "57828-6"),
    "ordo": ("57833-6", "57832-8", "PRESC-BIO", "PRESC-KINE", "PRESC-INF", "57828-6"),
    "traitement": ("57833-6", "56445-0"),
    "medicament": ("57833-6", "56445-0", "60593-1"),
    "courrier": ("96349-6", "11490-0", "18761-7", "11488-4"),
    "lettre": ("96349-6", "11490-0", "18761-7"),
    "adressage": ("96349-6",),
    "ecg": ("70004-7", "11488-4"),
    "electrocardiogramme": ("70004-7", "11488-4"),
    "holter": ("70004-7",),
    "mapa": ("70004-7",),
    "eeg": ("70004-7",),
    "emg": ("70004-7",),
    "efr": ("70004-7",),
    "spirometrie": ("70004-7",),
    "endoscopie": ("70004-7", "11505-5"),
    "fibroscopie": ("70004-7",),
    "coloscopie": ("70004-7", "75492-9"),
    "echo": ("18748-4", "55115-0"),
    "echographie": ("18748-4", "55115-0"),
    "radio": ("18748-4", "55115-0"),
    "radiographie": ("18748-4", "55115-0"),
    "scanner": ("18748-4", "55115-0"),
    "irm": ("18748-4", "55115-0"),
    "mammographie": ("18748-4", "55115-0", "75492-9"),
    "doppler": ("18748-4", "55115-0"),
    "scintigraphie": ("18748-4",),
    "imagerie": ("18748-4", "55115-0"),
    "photo": ("52040-3",),
    "bilan sanguin": ("11502-2", "PRESC-BIO"),
    "prise de sang": ("11502-2", "PRESC-BIO"),
    "analyses": ("11502-2", "PRESC-BIO"),
    "labo": ("11502-2", "PRESC-BIO"),
    "biologie": ("11502-2", "PRESC-BIO"),
    "arret de travail": ("PRESC-AAT",),
    "arret maladie": ("PRESC-AAT",),
    "kine": ("PRESC-KINE",),
    "infirmier": ("PRESC-INF", "11506-3"),
    "ide": ("PRESC-INF",),
    "certificat": ("89601-9", "CERT_DECL"),
    "vaccin": ("87273-9", "11369-6", "96874-3"),
    "urgences": ("15507-7", "60280-5", "74207-2", "78341-5"),
    "hospitalisation": ("34112-3", "11490-0", "67851-6"),
    "crh": ("34112-3", "11490-0"),
    "sortie": ("11490-0", "34112-3", "86531-1"),
    "operation": ("34874-8", "34875-5"),
    "chirurgie": ("34874-8", "34875-5"),
    "cro": ("34874-8",),
    "anapath": ("60568-3",),
    "biopsie": ("60568-3",),
    "histologie": ("60568-3",),
    "rcp": ("34794-8",),
    "consultation": ("11488-4",),
    "ald": ("PROT_ALD",),
    "protocole": ("PROT_ALD",),
    "dentaire": ("28617-9", "83836-7"),
    "teleconsultation": ("85208-7",),
    "grossesse": ("89233-1", "57055-6"),
    "psychiatrie": ("68599-0", "83901-9"),
}


def search_types(text: str, limit: int | None = None) -> list[Code]:
    """Types a doctor means by ``text``: an exact code, then the types of the words doctors
    use (:data:`SYNONYMS`: « ordonnance », « écho », « ECG », « courrier »...), then those
    whose code or label contains every typed word (case and accents ignored; "compte rendu"
    matches the labels' "CR"). An empty ``text`` gives the whole list.
    """
    # Labels write "CR" for "compte rendu": a doctor may type either.
    folded = re.sub(r"\bcomptes?[- ]rendus?\b", "cr", _fold(text))
    folded = " ".join(re.sub(r"[^a-z0-9]+", " ", folded).split()) if folded.strip() else ""
    words = folded.split()
    allowed = {code.code: code for code in professional_types()}
    found: list[Code] = []
    for code in allowed.values():
        haystack = f"{_fold(code.code)} {_fold(code.display)}"
        if all(word in haystack for word in words):
            found.append(code)
    meant: list[Code] = []
    if folded:
        for key, targets in SYNONYMS.items():
            typed = [w for w in words if w != "cr"]
            if not typed:
                continue
            phrase = " ".join(typed)
            if key.startswith(phrase) or any(
                len(w) >= 2
                and any(part.startswith(w) for part in key.split())
                and len(key.split()) == 1
                for w in typed
            ):
                meant.extend(
                    allowed[c] for c in targets if c in allowed and allowed[c] not in meant
                )
    exact = [c for c in found if _fold(c.code) == _fold(text.strip())]
    ordered = exact + [c for c in meant if c not in exact]
    ordered += [c for c in found if c not in ordered]
    return ordered[:limit] if limit is not None else ordered


__all__ = [
    "CLASS_LABELS",
    "OID_CLASS_CODES",
    "class_for_type",
    "for_professionals",
    "is_known_type",
    "professional_types",
    "search_types",
    "type_code",
]
