"""The training host's national identity base: what its INSi teleservice knows.

The real INSi answers from the national identity repositories (RNIPP/SNGI);
the training host answers from this small base: every demo patient (with
the full list of birth first names and the birthplace, which the DMP's own
records do not hold), and homonyms, so that a search by traits can give the
three answers a professional meets:

* ``00``: ``MOREAU`` ``LEA`` F 2007-05-25 — one identity (Léa MOREAU, DMP active);
* ``02``: ``LEFEBVRE`` ``JULIEN`` M 1982-11-02 — two identities, told apart by
  the other first names (``JULIEN ANDRE MARIE`` / ``JULIEN PIERRE``) or by the
  birthplace (``69383`` Lyon 3e / ``59350`` Lille);
* ``01``: anything else, e.g. ``MOREAU`` ``LEA`` F 2007-05-26.

The demo patients' INS are test NIRs (authority 1.2.250.1.213.1.4.10): the
training INSi returns that authority, so the INS found is the one the
training DMP knows (a training convention, docs/wire-conventions.md). The
birthplace of a demo patient is the one its NIR encodes (characters 6–10).

Matching (the training host's reading of the RNIV rules): the birth name,
the sex and the birth date must be equal (compared in upper case without
diacritics); the first names typed must open the list of birth first names,
in order; a birthplace typed must be equal.

Plain data and plain Python; nothing from the client.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

TEST_NIR_ROOT = "1.2.250.1.213.1.4.10"
_SPACES = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """Upper case, no diacritics, single spaces (hyphens and apostrophes kept)."""
    if not text:
        return ""
    value = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    value = unicodedata.normalize("NFKD", value)
    value = "".join(c for c in value if not unicodedata.combining(c)).replace("’", "'")
    return _SPACES.sub(" ", value).strip().upper()


@dataclass(frozen=True)
class ReferenceIdentity:
    """One person of the base: the INS and the five strict traits."""

    nir13: str
    birth_name: str
    given_names: tuple[str, ...]
    sex: str  # F / M
    birth_date: dt.date
    birthplace: str  # INSEE COG code
    root: str = TEST_NIR_ROOT

    @property
    def key(self) -> str:
        number = int(self.nir13.upper().replace("2A", "19").replace("2B", "18"))
        return f"{97 - number % 97:02d}"

    @property
    def ins(self) -> str:
        return f"{self.nir13}{self.key}"


def _person(
    nir13: str, name: str, given: str, sex: str, born: dt.date, place: str | None = None
) -> ReferenceIdentity:
    return ReferenceIdentity(nir13, name, tuple(given.split()), sex, born, place or nir13[5:10])


BASE: tuple[ReferenceIdentity, ...] = (
    # The demo patients (dmp_sandbox.demo), with their birth first names.
    _person("2070585756270", "MOREAU", "LEA CAMILLE", "F", dt.date(2007, 5, 25)),
    _person("1821169383112", "LEFEBVRE", "JULIEN ANDRE MARIE", "M", dt.date(1982, 11, 2)),
    _person("2750733063210", "GIRARD", "NATHALIE", "F", dt.date(1975, 7, 21)),
    _person("1490113055087", "FAURE", "BERNARD LOUIS", "M", dt.date(1949, 1, 30)),
    _person("1900675120045", "ROUSSEL", "LUCAS", "M", dt.date(1990, 6, 12)),
    _person("2380969123018", "BLANC", "MONIQUE JEANNE", "F", dt.date(1938, 9, 5)),
    _person("2150444109033", "CHEVALIER", "EMMA", "F", dt.date(2015, 4, 18)),
    # A homonym of Julien LEFEBVRE (same birth name, first first name, sex and date).
    _person("1821159350187", "LEFEBVRE", "JULIEN PIERRE", "M", dt.date(1982, 11, 2)),
)


def search(
    birth_name: str,
    given_names: Sequence[str],
    sex: str,
    birth_date: dt.date,
    birthplace: str | None = None,
    base: Sequence[ReferenceIdentity] = BASE,
) -> list[ReferenceIdentity]:
    """Every identity of ``base`` the traits designate (see the module docstring)."""
    name = fold(birth_name)
    typed = fold(" ".join(given_names)).split()
    place = fold(birthplace)
    found = []
    for person in base:
        if fold(person.birth_name) != name or person.sex != sex.upper():
            continue
        if person.birth_date != birth_date:
            continue
        if not typed or [fold(g) for g in person.given_names[: len(typed)]] != typed:
            continue
        if place and fold(person.birthplace) != place:
            continue
        found.append(person)
    return found


def by_ins(ins_value: str, root: str) -> ReferenceIdentity | None:
    """The person of the base with this INS, if the base knows them."""
    for person in BASE:
        if person.ins == ins_value and person.root == root:
            return person
    return None


__all__ = ["BASE", "TEST_NIR_ROOT", "ReferenceIdentity", "by_ins", "fold", "search"]
