"""Finding the patient, once for both doors: the INS, INSi, TD0.5, TD0.4 and recent patients.

The rules:

* **What the patient field understands** (:func:`parse_patient_text`): a
  15-character INS (spaces, dots and dashes allowed), or a name with a birth
  date (``MOREAU 25/05/2007``, ``moreau léa 2007-05-25``): the first word is
  the birth name, the others the first names; a lone ``F`` or ``M`` is the
  sex. A name with a comma keeps its spaces (``LE GALL, Marie``).
* **The matches offered** (:meth:`PatientFinder.find`): the recent patients
  of this professional first (instant, local, no network), then the DMP's
  patients found by TD0.5; one line per INS (a recent qualified identity
  wins over the DMP's copy).
* **The search by traits** (:meth:`PatientFinder.search_by_traits`): INSi
  first — ``00`` gives the qualified INS and the official traits, ``01`` and
  ``02`` say what to try (:data:`~dmp_desktop.dmp.insi.ADVICE_NOT_FOUND`,
  :data:`~dmp_desktop.dmp.insi.ADVICE_SEVERAL`) —, then TD0.5 with the same
  traits: does the DMP know this patient (and whom else, when INSi found no
  single identity). A DMP match whose INS is not INSi's is flagged.
* **« Mes patients DMP »** (:meth:`PatientFinder.my_patients`): TD0.4, the
  DMPs this professional is authorised on, by name.
* **Recent patients** (:meth:`PatientFinder.opened`): the patient opened
  goes first in the professional's encrypted list; a qualified identity is
  never downgraded by the DMP's copy.

The carte Vitale (INSi ``rechercherInsAvecCarteVitale``) would be a fourth
way in: a method next to :meth:`PatientFinder.search_by_traits` taking the
card's data, giving the same :class:`TraitsSearch` (see dmp/insi.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from dmp_desktop.dmp import insi, td04, td05
from dmp_desktop.dmp.xades import DocumentSigner
from dmp_desktop.domain.dmp_status import DmpStatus
from dmp_desktop.domain.patient import Ins, InsError, InsKind, normalize_ins_text
from dmp_desktop.errors import DmpDesktopError
from dmp_desktop.identity.convert import from_dmp_status
from dmp_desktop.identity.traits import InsIdentity, TraitsQuery, normalize_trait
from dmp_desktop.storage.recent_patients import RecentPatient, RecentPatients


class NoReferenceIdentityError(DmpDesktopError):
    """The DMP gives no identity for this INS: nothing is sent (the traits cannot be checked)."""

    message_id = "identity.no_reference"


_DATE_PATTERNS = (
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), ("d", "m", "y")),
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$"), ("d", "m", "y")),
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{2})(\d{2})(\d{4})$"), ("d", "m", "y")),
)
MAX_SUGGESTIONS = 20


@dataclass(frozen=True)
class PatientQuery:
    """What the patient field understood."""

    text: str
    ins: Ins | None = None
    family_name: str | None = None
    given_names: tuple[str, ...] = ()
    birth_date: date | None = None
    sex: str | None = None

    @property
    def usable(self) -> bool:
        """An INS, or a name: enough to look for matches."""
        return self.ins is not None or bool(self.family_name)

    @property
    def searchable_in_dmp(self) -> bool:
        """TD0.5 needs a name; the field asks for a birth date too (fewer homonyms)."""
        return bool(self.family_name) and self.birth_date is not None

    def traits_query(self) -> TraitsQuery | None:
        """The INSi query, when every required trait is there (else None)."""
        if not (self.family_name and self.given_names and self.birth_date and self.sex):
            return None
        try:
            return TraitsQuery(self.family_name, self.given_names, self.sex, self.birth_date)
        except ValueError:
            return None


def parse_date_text(token: str) -> date | None:
    """A birth date as typed: JJ/MM/AAAA, JJ.MM.AAAA, AAAA-MM-JJ or JJMMAAAA; else None."""
    token = token.strip()
    for pattern, order in _DATE_PATTERNS:
        match = pattern.match(token)
        if match:
            parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
            try:
                return date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                return None
    return None


def parse_patient_text(text: str, ins_kind: InsKind = InsKind.NIR) -> PatientQuery:
    """The patient field's text as an INS, or a name, birth date and sex (module docstring)."""
    raw = " ".join(text.split())
    compact = normalize_ins_text(raw)
    if compact and compact[:1].isdigit() and len(compact) == 15:
        try:
            return PatientQuery(raw, ins=Ins.parse(compact, ins_kind))
        except InsError:
            return PatientQuery(raw)
    birth: date | None = None
    sex: str | None = None
    words: list[str] = []
    for token in raw.replace(",", " , ").split():
        when = parse_date_text(token)
        if when is not None and birth is None:
            birth = when
        elif token.upper() in ("F", "M") and sex is None:
            sex = token.upper()
        else:
            words.append(token)
    if "," in words:
        cut = words.index(",")
        family = " ".join(words[:cut])
        given = tuple(w for w in words[cut + 1 :] if w != ",")
    else:
        family = words[0] if words else ""
        given = tuple(words[1:])
    if any(c.isdigit() for c in family):
        family = ""
    return PatientQuery(
        raw,
        family_name=family or None,
        given_names=given,
        birth_date=birth,
        sex=sex,
    )


@dataclass(frozen=True)
class Candidate:
    """One match offered to the professional, and where it comes from."""

    identity: InsIdentity
    recent: bool = False
    opened_at: datetime | None = None
    dmp_state: str | None = None  # "active" / "terminated" when the DMP said so
    differs_from_insi: bool = False  # a DMP match whose INS is not the one INSi gave

    @property
    def ins(self) -> Ins:
        return self.identity.ins


@dataclass(frozen=True)
class TraitsSearch:
    """INSi's answer, then the DMP's patients with these traits (TD0.5)."""

    insi: insi.InsiResult
    dmp: list[Candidate] = field(default_factory=list)

    @property
    def identity(self) -> InsIdentity | None:
        """The qualified identity (INSi ``00``), else None."""
        return self.insi.identity

    @property
    def advice_fr(self) -> str:
        return self.insi.advice_fr


class PatientsClient(Protocol):
    """What the use cases need of the DMP client (``dmp_desktop.dmp.client.DmpClient``)."""

    def search_ins(self, query: TraitsQuery, signer: DocumentSigner) -> insi.InsiResult: ...

    def search_patients(self, query: td05.PdqQuery) -> list[td05.PdqMatch]: ...

    def list_authorised_patients(
        self, since: datetime = ..., date_type: td04.DateType = ...
    ) -> list[td04.AuthorisedPatient]: ...


def _matches_query(identity: InsIdentity, query: PatientQuery) -> bool:
    if query.ins is not None:
        return identity.ins == query.ins
    family = normalize_trait(query.family_name)
    names = {normalize_trait(identity.traits.birth_name), normalize_trait(identity.used_name)}
    if not family or not any(n.startswith(family) for n in names if n):
        return False
    given = [normalize_trait(g) for g in query.given_names]
    known = [normalize_trait(g) for g in identity.traits.given_names]
    if given and [k[: len(g)] for k, g in zip(known, given, strict=False)] != given:
        return False
    if query.birth_date is not None and identity.traits.birth_date != query.birth_date:
        return False
    return not (
        query.sex and identity.traits.sex in ("F", "M") and identity.traits.sex != query.sex
    )


def recent_matches(recent: Sequence[RecentPatient], query: PatientQuery) -> list[Candidate]:
    """The recent patients the text designates (an empty text lists them all)."""
    if not query.text.strip():
        chosen = list(recent)
    else:
        chosen = [r for r in recent if _matches_query(r.identity, query)]
    return [Candidate(r.identity, recent=True, opened_at=r.opened_at) for r in chosen]


def _dmp_candidates(matches: Sequence[td05.PdqMatch]) -> list[Candidate]:
    return [Candidate(m.identity, dmp_state=m.identity.dmp_state) for m in matches]


def merge(*groups: Sequence[Candidate]) -> list[Candidate]:
    """One line per INS, in order; a recent (or qualified) identity wins over a later copy."""
    out: list[Candidate] = []
    seen: dict[Ins, int] = {}
    for group in groups:
        for candidate in group:
            index = seen.get(candidate.ins)
            if index is None:
                seen[candidate.ins] = len(out)
                out.append(candidate)
                continue
            kept = out[index]
            if candidate.dmp_state and not kept.dmp_state:
                out[index] = Candidate(
                    kept.identity, kept.recent, kept.opened_at, candidate.dmp_state
                )
    return out[:MAX_SUGGESTIONS]


class PatientFinder:
    """The patient-finding use cases of one professional (module docstring).

    ``client`` may be None where only the local list is needed;
    ``recent`` None when this computer keeps no list (no keyring).
    """

    def __init__(
        self,
        client: PatientsClient | None,
        professional_id: str,
        recent: RecentPatients | None = None,
    ) -> None:
        self._client = client
        self._professional_id = professional_id
        self._recent = recent

    def _dmp(self) -> PatientsClient:
        if self._client is None:
            raise RuntimeError("this use case needs the DMP")
        return self._client

    def recent_patients(self) -> list[RecentPatient]:
        if self._recent is None:
            return []
        return self._recent.load(self._professional_id)

    def suggest(self, query: PatientQuery) -> list[Candidate]:
        """The recent patients matching the text: local, instant."""
        return recent_matches(self.recent_patients(), query)

    def find_in_dmp(self, query: PatientQuery) -> list[Candidate]:
        """TD0.5: the DMP's patients with this name (and birth date, sex, first name)."""
        if not query.family_name:
            return []
        pdq = td05.PdqQuery(
            query.family_name,
            query.given_names[0] if query.given_names else None,
            query.birth_date,
            query.sex,
        )
        return _dmp_candidates(self._dmp().search_patients(pdq))

    def find(self, query: PatientQuery) -> list[Candidate]:
        """Every match for the patient field: recent patients, then TD0.5."""
        local = self.suggest(query)
        remote = self.find_in_dmp(query) if query.searchable_in_dmp else []
        return merge(local, remote)

    def search_by_traits(self, query: TraitsQuery, signer: DocumentSigner) -> TraitsSearch:
        """INSi, then TD0.5 with the same traits (module docstring)."""
        result = self._dmp().search_ins(query, signer)
        pdq = td05.PdqQuery(query.birth_name, query.given_names[0], query.birth_date, query.sex)
        found = _dmp_candidates(self._dmp().search_patients(pdq))
        if result.identity is not None:
            qualified = result.identity.ins
            found = [
                Candidate(c.identity, dmp_state=c.dmp_state, differs_from_insi=c.ins != qualified)
                for c in found
            ]
        return TraitsSearch(result, found)

    def my_patients(self) -> list[td04.AuthorisedPatient]:
        """TD0.4: the DMPs this professional is authorised on, by name."""
        rows = self._dmp().list_authorised_patients()
        return sorted(
            rows,
            key=lambda r: (
                normalize_trait(r.identity.used_name or r.identity.traits.birth_name),
                normalize_trait(r.identity.traits.first_given_name),
            ),
        )

    def opened(self, identity: InsIdentity) -> None:
        """The professional opened this patient: first of the recent list."""
        if self._recent is not None:
            self._recent.record(self._professional_id, identity)

    def known_identity(self, ins: Ins) -> InsIdentity | None:
        """The identity kept for this INS (a qualified one from an earlier INSi search)."""
        return next((r.identity for r in self.recent_patients() if r.identity.ins == ins), None)


class ExistenceClient(Protocol):
    def test_existence(self, ins: Ins, purpose: str = "normal") -> DmpStatus: ...


def reference_identity(
    client: ExistenceClient, ins: Ins, known: InsIdentity | None = None
) -> InsIdentity:
    """The patient's INS identity everything sent must agree with (identity coherence).

    ``known``: the identity the professional has for this INS (the window's
    patient, a recent qualified identity): a qualified one is the reference;
    otherwise the DMP's answer (TD0.2) is asked. Raises
    :class:`NoReferenceIdentityError` when the DMP names nobody for the INS.
    """
    if known is not None and known.ins == ins and known.qualified:
        return known
    return reference_from_status(client.test_existence(ins), known)


def reference_from_status(status: DmpStatus, known: InsIdentity | None = None) -> InsIdentity:
    """:func:`reference_identity` when the DMP's TD0.2 answer is already at hand."""
    if known is not None and known.ins == status.ins and known.qualified:
        return known
    reference = from_dmp_status(status)
    if reference is None:
        if known is not None and known.ins == status.ins:
            return known
        raise NoReferenceIdentityError()
    return reference


__all__ = [
    "MAX_SUGGESTIONS",
    "Candidate",
    "ExistenceClient",
    "NoReferenceIdentityError",
    "PatientFinder",
    "PatientQuery",
    "PatientsClient",
    "TraitsSearch",
    "merge",
    "parse_date_text",
    "parse_patient_text",
    "recent_matches",
    "reference_from_status",
    "reference_identity",
]
