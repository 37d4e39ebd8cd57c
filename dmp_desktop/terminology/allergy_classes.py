"""Drug classes an allergy is usually declared against, in French, with their ATC code.

A doctor writes « allergie à la pénicilline », « aux AINS », « à l'iode »:
a class or a substance, rarely a brand. The CI-SIS codes such an agent in
ATC (2.16.840.1.113883.6.73), whose official labels are English (WHO) and
whose list a practice may not import (licence). This table is ours: the ATC
codes are the WHO's (checked against the ATC/DDD index by a unit test when
the reference data is present), the French wording and the words that find
each class were chosen and reviewed here for general practice.

It is loaded into the terminology index as :attr:`System.ALLERGY_CLASS`
(searched by the allergy field) and used by the coherence checks to compare
the agent as written with the class of its ATC code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dmp_desktop.terminology.model import System
from dmp_desktop.terminology.rows import make_row

if TYPE_CHECKING:
    from dmp_desktop.terminology.index import TerminologyIndex


@dataclass(frozen=True)
class DrugClass:
    atc: str
    label: str  # how a French prescriber names the class
    words: tuple[str, ...] = ()  # other words that find it (synonyms, common misnomers)


CLASSES: tuple[DrugClass, ...] = (
    DrugClass("J01C", "Pénicillines (bêtalactamines)", ("pénicilline", "bêtalactamine")),
    DrugClass("J01CA04", "Amoxicilline", ("amoxicilline", "pénicilline A")),
    DrugClass(
        "J01CE", "Pénicillines G et V", ("pénicilline G", "pénicilline V", "benzylpénicilline")
    ),
    DrugClass("J01D", "Autres bêtalactamines (céphalosporines, carbapénèmes)", ("bêtalactamine",)),
    DrugClass("J01DB", "Céphalosporines de 1re génération", ("céphalosporine", "céfalexine")),
    DrugClass("J01DC", "Céphalosporines de 2e génération", ("céphalosporine", "céfuroxime")),
    DrugClass("J01DD", "Céphalosporines de 3e génération", ("céphalosporine", "ceftriaxone")),
    DrugClass("J01DH", "Carbapénèmes", ("carbapénème", "imipénème")),
    DrugClass("J01E", "Sulfamides antibactériens et triméthoprime", ("sulfamide", "sulfa")),
    DrugClass(
        "J01EE01",
        "Sulfaméthoxazole et triméthoprime (cotrimoxazole)",
        ("cotrimoxazole", "bactrim", "sulfaméthoxazole"),
    ),
    DrugClass("J01FA", "Macrolides", ("macrolide", "azithromycine", "clarithromycine")),
    DrugClass("J01AA", "Tétracyclines", ("tétracycline", "doxycycline")),
    DrugClass("J01G", "Aminosides", ("aminoside", "aminoglycoside", "gentamicine")),
    DrugClass("J01M", "Quinolones", ("quinolone",)),
    DrugClass("J01MA", "Fluoroquinolones", ("fluoroquinolone", "ciprofloxacine", "ofloxacine")),
    DrugClass("J01XE", "Nitrofuranes", ("nitrofurantoïne", "furadantine")),
    DrugClass("P01AB01", "Métronidazole", ("métronidazole", "flagyl")),
    DrugClass("M01A", "Anti-inflammatoires non stéroïdiens (AINS)", ("AINS", "anti-inflammatoire")),
    DrugClass("M01AE", "AINS dérivés de l'acide propionique", ("ibuprofène", "kétoprofène")),
    DrugClass("M01AE01", "Ibuprofène", ("ibuprofène", "advil", "nurofen")),
    DrugClass("M01AB05", "Diclofénac", ("diclofénac", "voltarène")),
    DrugClass("M01AC", "Oxicams", ("oxicam", "piroxicam", "méloxicam")),
    DrugClass("N02BA", "Acide acétylsalicylique et salicylés", ("aspirine", "salicylé")),
    DrugClass("N02BA01", "Acide acétylsalicylique (aspirine)", ("aspirine", "AAS")),
    DrugClass("N02BE01", "Paracétamol", ("paracétamol",)),
    DrugClass("N02A", "Opioïdes", ("opioïde", "morphinique", "morphine")),
    DrugClass("R05DA04", "Codéine", ("codéine",)),
    DrugClass("N01A", "Anesthésiques généraux", ("anesthésique général",)),
    DrugClass("N01B", "Anesthésiques locaux", ("anesthésique local", "lidocaïne", "xylocaïne")),
    DrugClass("M03A", "Curares (myorelaxants périphériques)", ("curare",)),
    DrugClass("B01AB", "Héparines", ("héparine", "HBPM", "énoxaparine")),
    DrugClass("C09A", "Inhibiteurs de l'enzyme de conversion (IEC)", ("IEC",)),
    DrugClass("C09C", "Antagonistes de l'angiotensine II (sartans)", ("sartan", "ARA II")),
    DrugClass("C10AA", "Statines", ("statine",)),
    DrugClass("N03A", "Antiépileptiques", ("antiépileptique", "anticonvulsivant")),
    DrugClass("N03AF01", "Carbamazépine", ("carbamazépine", "tégrétol")),
    DrugClass("N03AX09", "Lamotrigine", ("lamotrigine", "lamictal")),
    DrugClass("M04AA01", "Allopurinol", ("allopurinol", "zyloric")),
    DrugClass("V08A", "Produits de contraste iodés", ("iode", "iodé", "produit de contraste")),
    DrugClass("J07", "Vaccins", ("vaccin",)),
    DrugClass("H02AB", "Corticoïdes (glucocorticoïdes)", ("corticoïde", "cortisone")),
    DrugClass("A02BC", "Inhibiteurs de la pompe à protons (IPP)", ("IPP", "oméprazole")),
    DrugClass("N05BA", "Benzodiazépines", ("benzodiazépine",)),
)

_BY_CODE: dict[str, DrugClass] = {entry.atc: entry for entry in CLASSES}


def labels_for(atc: str) -> list[str]:
    """The French label and finding words of a class, or of the class it belongs to.

    ``J01CA04`` (amoxicilline) also agrees with « pénicilline »: its ancestors'
    words are included. Empty when no class of the table covers the code.
    """
    out: list[str] = []
    for length in range(len(atc), 0, -1):
        entry = _BY_CODE.get(atc[:length])
        if entry is not None:
            out.extend((entry.label, *entry.words))
    return out


TABLE_ORIGIN = "classes d'allergie (DMP Desktop, table v1)"


def load_into(index: TerminologyIndex) -> bool:
    """Put the table in ``index`` (System.ALLERGY_CLASS) unless this version already is."""
    for info in index.sources():
        if info.system is System.ALLERGY_CLASS and info.origin == TABLE_ORIGIN:
            return False
    with index.replacing({System.ALLERGY_CLASS}, TABLE_ORIGIN, starter=True) as writer:
        for entry in CLASSES:
            extra = {"words": list(entry.words), "atc": entry.atc}
            writer.add(make_row(System.ALLERGY_CLASS, entry.atc, entry.label, extra))
    return True
