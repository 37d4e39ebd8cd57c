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


def search_types(text: str, limit: int | None = None) -> list[Code]:
    """Types whose code or label contains every word of ``text`` (case and accents ignored;
    "compte rendu" matches the labels' "CR").

    An exact code comes first; an empty ``text`` gives the whole list.
    """
    # Labels write "CR" for "compte rendu": a doctor may type either.
    folded = re.sub(r"\bcomptes?[- ]rendus?\b", "cr", _fold(text))
    words = folded.split()
    found: list[Code] = []
    for code in professional_types():
        haystack = f"{_fold(code.code)} {_fold(code.display)}"
        if all(word in haystack for word in words):
            found.append(code)
    exact = [c for c in found if _fold(c.code) == _fold(text.strip())]
    ordered = exact + [c for c in found if c not in exact]
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
