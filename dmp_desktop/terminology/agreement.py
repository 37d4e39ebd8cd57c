"""Does the doctor's wording agree with the label of the code attached to it?

A coded field holds a text and a code. They must not contradict each other:
« Hypertension » coded E10.9 (« Diabète sucré de type 1 ») would be read by a
colleague as a diabetes. :func:`contradiction` compares the text with the
code's labels (official label, short label, abbreviations of the code,
a drug's substances) and says why they disagree, or None.

The rules, deliberately simple and explainable:

1. **Nothing in common.** The text and the labels share no meaningful word.
   Words are compared folded (no accents, no case) and by their first 6
   letters when both are that long (« vésiculaire » ~ « vésicule »,
   « coronaire » ~ « coronaires »); function words and qualifiers that every
   label carries (« sans précision », « autre »...) do not count. An
   abbreviation the doctor typed (``HTA``, ``DT2``) agrees with the codes it
   stands for.
2. **A different number after the same word.** « type 2 » against « type 1 »,
   « stade 3 » against « stade 4 ».
3. **A different strength of a drug.** « 1000 mg » in the text and only
   « 500 mg » in the product's name.
4. **Exclusive words.** The text says « droit » and the label « gauche »;
   « rénale » against « cardiaque » (organs of an insufficiency), « aigu »
   against « chronique ».

A text that is a prefix-wise subset of the label (« Diabète de type 2 » for
« Diabète sucré de type 2, sans complication ») agrees. The check cannot
prove that a text and a code mean the same thing; it catches the slips that
the editor's old behaviour let through (a code kept after the text was
retyped, the wrong row of a suggestion list, a CIS pasted under another
drug's name).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from dmp_desktop.terminology.abbreviations import ABBREVIATIONS
from dmp_desktop.terminology.model import System
from dmp_desktop.terminology.normalize import STOPWORDS, canonical_code, fold

# Words that say nothing about what the thing is (every other label has them).
_NEUTRAL: frozenset[str] = STOPWORDS | frozenset(
    """
    sans avec precision precisee precise autre autres non specifie specifiee type forme
    partie etat maladie maladies syndrome trouble troubles atteinte atteintes lesion lesions
    comprime comprimes pellicule pellicules secable gelule gelules solution buvable
    injectable poudre suspension sachet sachets dose boite flacon creme pommade gel
    orale voie mg g ml ug mcg microgrammes milligrammes ui pour cent
    chez suite suites antecedent antecedents personnel personnels
    a l d s
    """.split()
)

_PREFIX = 6

# Groups of words that exclude each other (folded).
_EXCLUSIVE: tuple[frozenset[str], ...] = (
    frozenset({"droit", "droite", "droits", "droites"}),
    frozenset({"gauche", "gauches"}),
    frozenset({"aigu", "aigue", "aigus", "aigues"}),
    frozenset({"chronique", "chroniques"}),
    frozenset({"superieur", "superieure"}),
    frozenset({"inferieur", "inferieure"}),
    frozenset({"benin", "benigne"}),
    frozenset({"malin", "maligne"}),
    frozenset({"hyper"}),
    frozenset({"hypo"}),
)
_EXCLUSIVE_PAIRS: tuple[tuple[int, int], ...] = ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9))

# Organs an « insuffisance », a « cancer »... is of: two different ones contradict.
_ORGANS: dict[str, str] = {
    word: organ
    for organ, words in {
        "coeur": "cardiaque cardiaques coeur myocarde myocardique",
        "rein": "renal renale renaux rein reins",
        "foie": "hepatique hepatiques foie",
        "poumon": "respiratoire respiratoires pulmonaire pulmonaires poumon poumons",
        "surrenale": "surrenale surrenalien surrenalienne",
        "thyroide": "thyroide thyroidien thyroidienne",
        "sein": "sein seins mammaire",
        "prostate": "prostate prostatique",
        "colon": "colon colique colorectal",
        "pancreas": "pancreas pancreatique",
        "estomac": "estomac gastrique",
        "veine": "veineuse veineux",
    }.items()
    for word in words.split()
}

_STRENGTH = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(mg|g|µg|ug|mcg|microgrammes?|milligrammes?|ml|ui|%)\b", re.IGNORECASE
)
_NUMBER_AFTER_WORD = re.compile(r"\b([a-z]{3,})\s+(\d+)\b")


def _significant(words: Iterable[str], ignore: frozenset[str] = frozenset()) -> list[str]:
    return [
        w for w in words if w not in _NEUTRAL and w not in ignore and not w.isdigit() and len(w) > 1
    ]


def _same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) >= _PREFIX and len(b) >= _PREFIX:
        return a[:_PREFIX] == b[:_PREFIX]
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= 4 and longer.startswith(shorter)


def _strengths(text: str) -> set[tuple[str, str]]:
    out = set()
    for number, unit in _STRENGTH.findall(text):
        unit = unit.lower()
        if unit in ("µg", "mcg") or unit.startswith("microgramme"):
            unit = "ug"
        if unit.startswith("milligramme"):
            unit = "mg"
        out.add((number.replace(",", ".").rstrip("0").rstrip(".") or "0", unit))
    return out


def _abbreviation_codes(system: System, words: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for entry in ABBREVIATIONS:
        if entry.system is system and entry.abbreviation in words:
            out.update(entry.codes)
    return out


def contradiction(
    text: str,
    labels: Sequence[str],
    *,
    system: System | None = None,
    code: str | None = None,
    ignore: Iterable[str] = (),
) -> str | None:
    """Why ``text`` contradicts the code whose labels are ``labels``, or None if it agrees.

    Reasons: ``no_common_word``, ``different_number``, ``different_strength``,
    ``exclusive_words``. ``system`` and ``code`` let a typed abbreviation
    (``HTA`` for I10) agree with the codes it stands for. ``ignore``: words that
    must not make two labels agree (a drug's laboratory: « METFORMINE BIOGARAN »
    is not « RAMIPRIL BIOGARAN »).
    """
    ignored = frozenset(word for item in ignore for word in fold(item).split())
    labels = [label for label in labels if label and label.strip()]
    if not text.strip() or not labels:
        return None
    text_folded = fold(text)
    text_words = text_folded.split()
    if system is not None and code is not None:
        wanted = canonical_code(system, code)
        targets = _abbreviation_codes(system, text_words)
        if any(wanted == t or wanted.startswith(t) or t.startswith(wanted) for t in targets):
            return None
    label_folded = " ".join(fold(label) for label in labels)
    label_words = label_folded.split()

    # 3. strengths of a drug
    text_strengths = _strengths(text)
    label_strengths = set().union(*(_strengths(label) for label in labels))
    if text_strengths and label_strengths and not text_strengths & label_strengths:
        return "different_strength"

    # 2. a number after the same word
    text_numbers = dict(_NUMBER_AFTER_WORD.findall(text_folded))
    for word, number in _NUMBER_AFTER_WORD.findall(label_folded):
        if word in text_numbers and text_numbers[word] != number and word not in ("mg", "ml"):
            others = [n for w, n in _NUMBER_AFTER_WORD.findall(label_folded) if w == word]
            if text_numbers[word] not in others:
                return "different_number"

    # 4. exclusive words
    text_set = set(text_words)
    label_set = set(label_words)
    for left, right in _EXCLUSIVE_PAIRS:
        a, b = _EXCLUSIVE[left], _EXCLUSIVE[right]
        if (text_set & a and label_set & b and not label_set & a) or (
            text_set & b and label_set & a and not label_set & b
        ):
            return "exclusive_words"
    text_organs = {_ORGANS[w] for w in text_words if w in _ORGANS}
    label_organs = {_ORGANS[w] for w in label_words if w in _ORGANS}
    if text_organs and label_organs and not text_organs & label_organs:
        return "exclusive_words"

    # 1. at least one meaningful word in common
    significant = _significant(text_words, ignored)
    if not significant:
        return None  # nothing to compare (a text of numbers or function words)
    label_significant = _significant(label_words, ignored)
    if any(_same_word(t, w) for t in significant for w in label_significant):
        return None
    return "no_common_word"


def labels_agree(first: str, second: str) -> bool:
    """Two labels of the same code agree (an older edition, a shortened label...)."""
    return contradiction(first, [second]) is None
