"""Abbreviations general practitioners type, and what they stand for.

Each entry gives the phrases that find the matching labels (searched as
word prefixes, so ``auricul`` matches ``auriculaires``) and the codes to put
first. The CIM-10 targets are codes of the starter set; a unit test checks
them against the ATIH list when it is present.
"""

from __future__ import annotations

from dataclasses import dataclass

from dmp_desktop.terminology.model import System


@dataclass(frozen=True)
class Abbreviation:
    abbreviation: str
    meaning: str
    phrases: tuple[str, ...]
    codes: tuple[str, ...]
    system: System = System.CIM10


def _cim(abbreviation: str, meaning: str, phrases: str, codes: str) -> Abbreviation:
    return Abbreviation(
        abbreviation, meaning, tuple(phrases.split("|")), tuple(codes.split()), System.CIM10
    )


ABBREVIATIONS: tuple[Abbreviation, ...] = (
    _cim("hta", "hypertension artérielle", "hypertension", "I10 I119"),
    _cim("dt2", "diabète de type 2", "diabete type 2", "E119 E11"),
    _cim("dnid", "diabète de type 2 (non insulinodépendant)", "diabete type 2", "E119 E11"),
    _cim("dt1", "diabète de type 1", "diabete type 1", "E109 E10"),
    _cim("did", "diabète de type 1 (insulinodépendant)", "diabete type 1", "E109 E10"),
    _cim(
        "bpco",
        "bronchopneumopathie chronique obstructive",
        "pulmonaire obstructive chronique",
        "J449 J441",
    ),
    _cim("idm", "infarctus du myocarde", "infarctus myocarde", "I219 I252"),
    _cim(
        "sca",
        "syndrome coronarien aigu",
        "angine poitrine instable|infarctus myocarde",
        "I200 I219",
    ),
    _cim(
        "avc",
        "accident vasculaire cérébral",
        "accident vasculaire cerebral|infarctus cerebral",
        "I64 I639",
    ),
    _cim(
        "ait", "accident ischémique transitoire", "accident ischemique cerebral transitoire", "G459"
    ),
    _cim("fa", "fibrillation auriculaire", "fibrillation auriculaire", "I489 I480 I481 I482"),
    _cim(
        "acfa",
        "arythmie complète par fibrillation auriculaire",
        "fibrillation auriculaire",
        "I489 I482",
    ),
    _cim("ic", "insuffisance cardiaque", "insuffisance cardiaque", "I509"),
    _cim("icc", "insuffisance cardiaque congestive", "insuffisance cardiaque", "I509"),
    _cim(
        "irc",
        "insuffisance rénale chronique",
        "maladie renale chronique|insuffisance renale chronique",
        "N189 N183",
    ),
    _cim("mrc", "maladie rénale chronique", "maladie renale chronique", "N189 N183"),
    _cim("saos", "syndrome d'apnées obstructives du sommeil", "apnee sommeil", "G473"),
    _cim("sas", "syndrome d'apnées du sommeil", "apnee sommeil", "G473"),
    _cim("rgo", "reflux gastro-œsophagien", "reflux gastro oesophagien", "K219 K21"),
    _cim("hbp", "hypertrophie bénigne de la prostate", "hyperplasie prostate", "N40"),
    _cim(
        "tvp",
        "thrombose veineuse profonde",
        "phlebite vaisseaux profonds|thrombose veineuse",
        "I802",
    ),
    _cim("ep", "embolie pulmonaire", "embolie pulmonaire", "I269 I26"),
    _cim("sep", "sclérose en plaques", "sclerose plaques", "G35"),
    _cim("pr", "polyarthrite rhumatoïde", "polyarthrite rhumatoide", "M069"),
    _cim("spa", "spondylarthrite ankylosante", "spondylarthrite ankylosante", "M45"),
    _cim("ppr", "pseudo-polyarthrite rhizomélique", "polymyalgie rhumatismale", "M353"),
    _cim("lead", "lupus érythémateux disséminé", "lupus erythemateux dissemine", "M329"),
    _cim("dmla", "dégénérescence maculaire liée à l'âge", "degenerescence macula", "H353"),
    _cim(
        "aomi",
        "artériopathie oblitérante des membres inférieurs",
        "atherosclerose arteres distales|maladie vasculaire peripherique",
        "I702 I739",
    ),
    _cim(
        "tdah",
        "trouble du déficit de l'attention avec hyperactivité",
        "perturbation activite attention",
        "F900",
    ),
    _cim("tag", "trouble anxieux généralisé", "anxiete generalisee", "F411"),
    _cim("edm", "épisode dépressif majeur", "episode depressif", "F329"),
    _cim("iu", "infection urinaire", "infection voies urinaires|cystite", "N390 N300"),
    _cim("pna", "pyélonéphrite aiguë", "nephrite tubulo interstitielle aigue", "N10"),
    _cim("ist", "infection sexuellement transmissible", "sexuellement transmise", "A64"),
    _cim("vih", "virus de l'immunodéficience humaine", "immunodeficience humaine", "B24 Z21"),
    _cim("oh", "alcoolodépendance", "utilisation alcool", "F102"),
    _cim("vppb", "vertige positionnel paroxystique bénin", "vertige benin paroxystique", "H811"),
    _cim("llc", "leucémie lymphoïde chronique", "leucemie lymphoide chronique", "C911"),
    _cim("sopk", "syndrome des ovaires polykystiques", "ovarien polykystique", "E282"),
    _cim("covid", "maladie à coronavirus 2019", "covid", "U071"),
    Abbreviation(
        "aas",
        "acide acétylsalicylique",
        ("acetylsalicylique", "acetylsalicylate"),
        (),
        System.CIS,
    ),
)

_BY_KEY: dict[tuple[System, str], Abbreviation] = {
    (entry.system, entry.abbreviation): entry for entry in ABBREVIATIONS
}


def lookup(system: System, token: str) -> Abbreviation | None:
    """The abbreviation ``token`` (folded) stands for in ``system``, if any."""
    return _BY_KEY.get((system, token))


def synonyms_for(system: System) -> dict[str, list[str]]:
    """Abbreviations to index with each target code of ``system`` (code -> tokens)."""
    result: dict[str, list[str]] = {}
    for entry in ABBREVIATIONS:
        if entry.system is system:
            for code in entry.codes:
                result.setdefault(code, []).append(entry.abbreviation)
    return result
