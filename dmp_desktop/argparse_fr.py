"""argparse's own messages in French (``usage:``, ``error:``, ``invalid choice``…).

argparse writes its messages through ``gettext`` with no catalogue for
French installed on most systems, so ``dmp patient`` answered « error:
argument COMMANDE: invalid choice ». :func:`install` replaces the two
gettext functions argparse looks up in its module (``_`` and ``ngettext``)
with this module's French table, falling back to the English text for a
message the table does not know (a newer Python). It is idempotent and
affects argparse only; ``dmp``, ``dmp-sandbox`` and ``dmp-desktop`` call it
before building their parsers (section titles and the help option's text
are translated when a parser is built).

Stdlib only: the training host's command uses it too.
"""

from __future__ import annotations

import argparse

# English msgid (as in Lib/argparse.py, Python 3.11 to 3.13) -> French.
FRENCH: dict[str, str] = {
    "usage: ": "utilisation : ",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "positional arguments": "arguments positionnels",
    "options": "options",
    "optional arguments": "options",
    "show this help message and exit": "afficher cette aide et quitter",
    "show program's version number and exit": "afficher la version du programme et quitter",
    "subcommands": "sous-commandes",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "not allowed with argument %s": "interdit avec l'argument %s",
    "ignored explicit argument %r": "argument explicite ignoré : %r",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "one of the arguments %s is required": "l'un des arguments %s est obligatoire",
    "expected one argument": "une valeur attendue",
    "expected at most one argument": "au plus une valeur attendue",
    "expected at least one argument": "au moins une valeur attendue",
    "ambiguous option: %(option)s could match %(matches)s": (
        "option ambiguë : %(option)s peut désigner %(matches)s"
    ),
    "unexpected option string: %s": "option inattendue : %s",
    "%r is not callable": "%r n'est pas appelable",
    "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s) : %(value)r",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "choix invalide : %(value)r (choisissez parmi %(choices)s)"
    ),
    "unknown parser %(parser_name)r (choices: %(choices)s)": (
        "commande inconnue : %(parser_name)r (choix : %(choices)s)"
    ),
    'argument "-" with mode %r': "argument « - » avec le mode %r",
    "can't open '%(filename)s': %(error)s": "impossible d'ouvrir « %(filename)s » : %(error)s",
    "cannot have multiple subparser arguments": "une seule commande est possible",
    "conflicting subparser: %s": "commande en double : %s",
    "conflicting subparser alias: %s": "alias de commande en double : %s",
    "mutually exclusive arguments must be optional": (
        "des arguments mutuellement exclusifs doivent être des options"
    ),
    "dest= is required for options like %r": "dest= est obligatoire pour une option comme %r",
    "invalid option string %(option)r: must start with a character %(prefix_chars)r": (
        "option invalide %(option)r : elle doit commencer par l'un des caractères %(prefix_chars)r"
    ),
    "invalid conflict_resolution value: %r": "valeur conflict_resolution invalide : %r",
    "'required' is an invalid argument for positionals": (
        "« required » n'est pas possible pour un argument positionnel"
    ),
    "cannot merge actions - two groups are named %r": (
        "fusion impossible : deux groupes s'appellent %r"
    ),
    ".__call__() not defined": ".__call__() non défini",
}
# Singular and plural forms (argparse's ngettext calls).
FRENCH_PLURAL: dict[tuple[str, str], tuple[str, str]] = {
    ("expected %s argument", "expected %s arguments"): (
        "%s valeur attendue",
        "%s valeurs attendues",
    ),
    ("conflicting option string: %s", "conflicting option strings: %s"): (
        "option en double : %s",
        "options en double : %s",
    ),
}


def gettext_fr(message: str) -> str:
    return FRENCH.get(message, message)


def ngettext_fr(singular: str, plural: str, n: int) -> str:
    forms = FRENCH_PLURAL.get((singular, plural))
    if forms is None:
        return singular if n == 1 else plural
    return forms[0] if n <= 1 else forms[1]  # French: 0 and 1 take the singular


def install() -> None:
    """Make argparse speak French (idempotent; call before building parsers)."""
    module: object = argparse
    setattr(module, "_", gettext_fr)  # noqa: B010 - argparse looks these names up at call time
    setattr(module, "ngettext", ngettext_fr)  # noqa: B010


def version_action_help() -> str:
    """The ``--version`` option's help (argparse's default is an English keyword argument)."""
    return FRENCH["show program's version number and exit"]
