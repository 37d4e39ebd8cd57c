"""The patient's identity: the INS and its five strict traits, and where they come from.

The five strict traits (RNIV, "traits stricts") are the birth name, the birth
first names (all of them, in order; the first one is the "premier prénom de
naissance"), the birth date, the sex and the birthplace (INSEE COG code,
``99xxx`` for a country abroad). An identity is *qualified* when its INS and
traits come from the INSi teleservice (the national identity base), the only
source the software may treat as authoritative. The DMP's own answers (TD0.2,
TD0.4, TD0.5) name the patient too, with fewer traits (no birthplace, often
only the first first name): they are shown as such, never as qualified.

Plain Python, no Qt, no I/O.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from dmp_desktop.dates import fr_date, paris_today
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import DmpDesktopError
from dmp_desktop.messages import Msg, msg, render

SEXES = ("F", "M")
_COG_RE = re.compile(r"^(?:[0-9]{5}|2[AB][0-9]{3})$")
_SPACES = re.compile(r"\s+")
MAX_TRAIT = 100


def normalize_trait(text: str | None) -> str:
    """A trait as the national base writes it: upper case, no diacritics, single spaces.

    Hyphens and apostrophes stay (they are part of the name, RNIV); ``Œ``/``Æ``
    become ``OE``/``AE``. Used to compare traits, never to display them.
    """
    if not text:
        return ""
    value = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    value = unicodedata.normalize("NFKD", value)
    value = "".join(c for c in value if not unicodedata.combining(c))
    value = value.replace("’", "'").replace("‐", "-")
    return _SPACES.sub(" ", value).strip().upper()


def normalize_sex(value: str | None) -> str:
    """``F`` / ``M`` / ``U`` from the codes of INSi (F, M), HL7 (F, M, UN) or a form."""
    code = (value or "").strip().upper()
    if code in ("F", "FEMALE", "2"):
        return "F"
    if code in ("M", "MALE", "1"):
        return "M"
    return "U"


def is_birthplace_code(value: str | None) -> bool:
    """An INSEE COG code: 5 digits (``2A``/``2B`` for Corsica), ``99xxx`` abroad."""
    return bool(value) and bool(_COG_RE.match((value or "").strip().upper()))


def split_given_names(text: str | None) -> tuple[str, ...]:
    """``"MARIE CLAIRE"`` -> ``("MARIE", "CLAIRE")`` (INSi's ``ListePrenom`` is space-separated)."""
    return tuple((text or "").split())


class IdentitySource(enum.StrEnum):
    """Where the identity shown comes from."""

    INSI = "insi"  # the INSi teleservice: qualified INS and official traits
    DMP = "dmp"  # the DMP's answer (TD0.2, TD0.4, TD0.5): the DMP's copy of the traits

    @property
    def label_fr(self) -> str:
        return {
            IdentitySource.INSI: "téléservice INSi",
            IdentitySource.DMP: "DMP",
        }[self]


@dataclass(frozen=True)
class IdentityTraits:
    """The five strict traits, as given (display them as they are; compare them normalised).

    ``given_names`` lists every birth first name in order when
    ``given_names_complete`` is True (INSi's ``ListePrenom``); else it may hold
    only the first one (the DMP's answers). ``birthplace`` is None when the
    source does not give it.
    """

    birth_name: str
    given_names: tuple[str, ...]
    sex: str  # F / M / U
    birth_date: date
    birthplace: str | None = None
    given_names_complete: bool = False

    @property
    def first_given_name(self) -> str:
        return self.given_names[0] if self.given_names else ""

    @property
    def given_names_text(self) -> str:
        return " ".join(self.given_names)


@dataclass(frozen=True)
class InsIdentity:
    """A patient: the INS, its traits, whether the identity is qualified, and its source.

    ``used_name`` / ``used_given_name`` are the names of everyday use (nom
    utilisé, prénom utilisé) when known; the birth name is always kept.
    """

    ins: Ins
    traits: IdentityTraits
    source: IdentitySource
    qualified: bool = False
    used_name: str | None = None
    used_given_name: str | None = None
    # From the DMP's answers: the DMP's state, when known ("active", "closed"...).
    dmp_state: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def display_name(self) -> str:
        """``NOM Prénom`` for lists (the used name when known; the birth name stays visible
        in :attr:`birth_name_line`)."""
        family = (self.used_name or self.traits.birth_name).upper()
        given = self.used_given_name or self.traits.first_given_name
        return f"{family} {given.title() if given.isupper() else given}".strip()

    @property
    def birth_name_line(self) -> str:
        """``né(e) MOREAU`` when the used name differs from the birth name, else ``""``."""
        used = normalize_trait(self.used_name)
        if not used or used == normalize_trait(self.traits.birth_name):
            return ""
        born = "née" if self.traits.sex == "F" else "né" if self.traits.sex == "M" else "né(e)"
        return f"{born} {self.traits.birth_name.upper()}"


class TraitsError(DmpDesktopError, ValueError):
    """The traits typed cannot be sent: ``field`` names the trait (``traits.<field>`` message)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field

    def message(self) -> Msg:
        return msg(f"traits.{self.field}")

    @property
    def message_fr(self) -> str:
        return render(self.message())


@dataclass(frozen=True)
class TraitsQuery:
    """The traits a search sends: birth name, birth first name(s), sex, birth date, birthplace."""

    birth_name: str
    given_names: tuple[str, ...]
    sex: str  # F / M
    birth_date: date
    birthplace: str | None = None

    def __post_init__(self) -> None:
        if not self.birth_name.strip():
            raise TraitsError("birth_name")
        if len(self.birth_name) > MAX_TRAIT:
            raise TraitsError("birth_name_long")
        if not any(g.strip() for g in self.given_names):
            raise TraitsError("given_names")
        if len(" ".join(self.given_names)) > MAX_TRAIT:
            raise TraitsError("given_names_long")
        if self.sex not in ("F", "M"):
            raise TraitsError("sex")
        if self.birth_date > paris_today():
            raise TraitsError("birth_date")
        if self.birthplace is not None and not is_birthplace_code(self.birthplace):
            raise TraitsError("birthplace")

    @classmethod
    def from_text(
        cls,
        birth_name: str,
        given_names: str,
        sex: str,
        birth_date: date,
        birthplace: str | None = None,
    ) -> TraitsQuery:
        """From what a form or the command line gives (spaces cleaned, codes upper-cased)."""
        place = (birthplace or "").strip().upper() or None
        return cls(
            " ".join(birth_name.split()),
            split_given_names(given_names),
            (sex or "").strip().upper(),
            birth_date,
            place,
        )


SEX_LABELS_FR = {"F": "féminin", "M": "masculin", "U": "inconnu"}


def strict_traits_lines(identity: InsIdentity) -> list[tuple[str, str]]:
    """The five strict traits as (French caption, value) rows, for the window and the CLI."""
    traits = identity.traits
    return [
        ("Nom de naissance", traits.birth_name.upper()),
        ("Prénom(s) de naissance", traits.given_names_text or "—"),
        ("Date de naissance", fr_date(traits.birth_date)),
        ("Sexe", SEX_LABELS_FR.get(traits.sex, "inconnu")),
        ("Lieu de naissance", traits.birthplace or "non connu"),
    ]


def qualification_text(identity: InsIdentity) -> str:
    """Whether the identity is qualified, in the words of identity vigilance."""
    if identity.qualified:
        return "Identité qualifiée (INS vérifiée par le téléservice INSi)"
    return (
        "Identité non qualifiée : traits donnés par le "
        f"{identity.source.label_fr}, INS non vérifiée par le téléservice INSi"
    )


__all__ = [
    "MAX_TRAIT",
    "SEXES",
    "SEX_LABELS_FR",
    "IdentitySource",
    "IdentityTraits",
    "InsIdentity",
    "TraitsError",
    "TraitsQuery",
    "is_birthplace_code",
    "normalize_sex",
    "normalize_trait",
    "qualification_text",
    "split_given_names",
    "strict_traits_lines",
]
