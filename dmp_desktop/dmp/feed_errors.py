"""Typed errors of the alimentation side (upload, replace, mask, archive, delete, outbox).

They carry codes and data, never prose nor health data; :func:`describe_fr`
turns them into the French sentence the user reads (``dmp_desktop.errors.describe``
delegates here). Kept apart from :mod:`dmp_desktop.alimentation` so that the
wire (``dmp/``) can raise them without importing the outbox.
"""

from __future__ import annotations

from dmp_desktop.errors import DmpDesktopError


class FeedError(DmpDesktopError):
    """Base of the alimentation errors."""


class UploadInvalidError(FeedError):
    """The upload cannot be sent as it is; ``problems`` are codes of :data:`PROBLEMS_FR`."""

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        super().__init__(", ".join(problems))
        self.problems = tuple(problems)


class ForbiddenVisibilityError(FeedError):
    """Masked from professionals and invisible to the patient: the DMP forbids the pair."""


class NotAuthorError(FeedError):
    """Only the author may do this (``action``: ``delete``, ``replace``)."""

    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action


class DocumentStatusError(FeedError):
    """The document's status does not allow ``action`` (e.g. replacing an archived document)."""

    def __init__(self, action: str, status: str) -> None:
        super().__init__(action, status)
        self.action = action
        self.status = status


class PatientObjectionError(FeedError):
    """The patient objected to this document being sent: it never will be."""


class OutboxItemGoneError(FeedError):
    """The outbox item was confirmed or discarded meanwhile (another window, the CLI)."""


class OnBehalfRefusedError(FeedError):
    """The DMP refused a secretary's upload for ``author`` (display name of the professional).

    ``code``: the DMP's code (``DMPAccessDenied``: not authorised by the
    patient or not of the card's structure; ``DMPAccessDeniedByExcludedPs``:
    the patient blocked that professional). Nothing was registered.
    """

    def __init__(self, code: str, author: str) -> None:
        super().__init__(code)
        self.code = code
        self.author = author


class UploadUnconfirmedError(FeedError):
    """The request may have reached the DMP but no answer came back.

    The item stays in the outbox as *sent, unconfirmed*: before any new
    attempt the DMP is asked whether it holds the document (by its unique
    id), so that it is never sent twice. ``cause`` is the error met.
    """

    def __init__(self, cause: DmpDesktopError) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


PROBLEMS_FR: dict[str, str] = {
    "ins_not_qualified": (
        "L'INS du patient n'est pas qualifié : renseignez ses traits d'identité (nom et prénoms "
        "de naissance, date et lieu de naissance, sexe) tels que le téléservice INSi les a "
        "retournés. Aucun document ne peut être envoyé au DMP sans INS qualifié."
    ),
    "identity_mismatch": (
        "Les traits d'identité renseignés concernent un autre INS que celui du patient : "
        "vérifiez le patient avant d'envoyer."
    ),
    "birthplace_missing": (
        "Le lieu de naissance du patient (code INSEE de la commune, 99xxx à l'étranger) manque : "
        "il fait partie des traits de l'INS qualifié."
    ),
    "empty_file": "Le fichier est vide : choisissez le bon fichier. Rien n'a été envoyé.",
    "blank_text": "Le texte est vide : rien n'a été envoyé.",
    "file_too_large": (
        "Le fichier dépasse la taille maximale acceptée (20 Mo). Réduisez-le (PDF compressé, "
        "image moins définie) puis recommencez."
    ),
    "unsupported_format": (
        "Format de fichier non pris en charge : envoyez un PDF, une image JPEG, PNG ou TIFF, "
        "ou un texte."
    ),
    "media_type_mismatch": (
        "Le contenu du fichier ne correspond pas à son type annoncé : vérifiez le fichier."
    ),
    "corrupt_image": (
        "L'image est illisible ou endommagée : ouvrez-la pour vérifier, puis réessayez."
    ),
    "image_too_large": (
        "L'image est trop grande pour être convertie en PDF : réduisez sa définition."
    ),
    "not_pdf": "Ce fichier n'est pas un PDF valide.",
    "unreadable_text": (
        "Le texte n'est pas lisible (encodage inconnu ou fichier binaire) : enregistrez-le en "
        "UTF-8 puis réessayez."
    ),
    "unknown_type": (
        "Type de document inconnu : choisissez un type de la liste des types du DMP (jeu de "
        "valeurs J07)."
    ),
    "type_not_for_professionals": (
        "Ce type de document est réservé aux documents déposés par le patient ou par "
        "l'Assurance Maladie : choisissez un autre type."
    ),
    "title_missing": "Donnez un titre au document.",
    "title_too_long": "Le titre est trop long (255 caractères au plus).",
    "date_in_future": "La date de l'acte ne peut pas être dans le futur.",
    "date_too_old": "La date de l'acte est antérieure à 1900 : vérifiez-la.",
    "forbidden_visibility": (
        "Un document ne peut pas être à la fois masqué aux professionnels de santé et invisible "
        "pour le patient : le DMP refuse cette combinaison. Changez l'un des deux choix."
    ),
    "replaced_not_approved": (
        "Seul un document actif peut être remplacé : celui-ci est archivé, remplacé ou supprimé."
    ),
    "replaced_other_patient": "Le document à remplacer appartient au DMP d'un autre patient.",
    "replaced_not_mine": "Vous ne pouvez remplacer que les documents dont vous êtes l'auteur.",
    "not_a_vsm": "Ce document CDA n'est pas une synthèse médicale (VSM) : il n'a pas été envoyé.",
    "on_behalf_of_missing": (
        "Un secrétariat envoie un document pour le compte d'un professionnel du cabinet : "
        "choisissez ce professionnel (« Pour le compte de ») avant d'envoyer."
    ),
    "on_behalf_of_staff": (
        "L'auteur d'un document doit être un professionnel de santé, pas un secrétariat : "
        "choisissez un professionnel du cabinet."
    ),
    "on_behalf_of_not_staff": (
        "Avec votre carte de professionnel, vous envoyez vos propres documents : seul un "
        "secrétariat envoie pour le compte d'un autre professionnel."
    ),
}

_ACTIONS_FR = {
    "delete": "supprimer ce document",
    "replace": "remplacer ce document",
    "archive": "archiver ce document",
    "update": "modifier ce document",
}
_STATUS_FR = {
    "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved": "actif",
    "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated": "remplacé",
    "urn:asip:ci-sis:2010:StatusType:Archived": "archivé",
    "urn:asip:ci-sis:2010:StatusType:Deleted": "supprimé",
}


def problem_fr(code: str) -> str:
    return PROBLEMS_FR.get(code, "Le document ne peut pas être envoyé tel quel.")


def describe_fr(exc: FeedError) -> str:
    """The French sentence for an alimentation error (no health data)."""
    if isinstance(exc, UploadInvalidError):
        return "\n".join(problem_fr(code) for code in exc.problems)
    if isinstance(exc, ForbiddenVisibilityError):
        return PROBLEMS_FR["forbidden_visibility"]
    if isinstance(exc, NotAuthorError):
        what = _ACTIONS_FR.get(exc.action, "faire cette opération")
        return (
            f"Seul l'auteur du document peut {what}. Rien n'a été modifié ; "
            "demandez à l'auteur de le faire."
        )
    if isinstance(exc, DocumentStatusError):
        what = _ACTIONS_FR.get(exc.action, "faire cette opération")
        status = _STATUS_FR.get(exc.status, "dans un état qui ne le permet pas")
        return (
            f"Impossible de {what} : il est {status}. Actualisez la liste des documents "
            "pour voir son état actuel."
        )
    if isinstance(exc, PatientObjectionError):
        return "Le patient s'est opposé à l'envoi de ce document au DMP : il ne sera pas envoyé."
    if isinstance(exc, OutboxItemGoneError):
        return (
            "Ce document n'est plus dans la boîte d'envoi : il a déjà été confirmé ou retiré "
            "(depuis une autre fenêtre ?). Actualisez la boîte d'envoi."
        )
    if isinstance(exc, OnBehalfRefusedError):
        if exc.code == "DMPAccessDeniedByExcludedPs":
            why = f"le patient a interdit l'accès à son DMP à {exc.author}"
        else:
            why = (
                f"{exc.author} n'est pas autorisé par le patient à accéder à son DMP (ou "
                "n'exerce pas dans votre structure)"
            )
        return (
            f"Le DMP a refusé le document : {why}. Un secrétariat ne peut envoyer que pour "
            "un professionnel du cabinet que le patient a autorisé. Le document reste dans la "
            "boîte d'envoi : faites enregistrer l'autorisation du patient puis réessayez, ou "
            "retirez-le et envoyez-le pour le compte d'un autre professionnel."
        )
    if isinstance(exc, UploadUnconfirmedError):
        return (
            "L'envoi au DMP n'a pas pu être confirmé (la connexion a été interrompue pendant "
            "l'envoi). Le document reste dans la boîte d'envoi : à la reprise, le logiciel "
            "vérifiera d'abord s'il est déjà dans le DMP, pour ne jamais l'envoyer deux fois."
        )
    return "L'envoi du document au DMP n'a pas abouti. Réessayez."


__all__ = [
    "PROBLEMS_FR",
    "DocumentStatusError",
    "FeedError",
    "ForbiddenVisibilityError",
    "NotAuthorError",
    "OnBehalfRefusedError",
    "OutboxItemGoneError",
    "PatientObjectionError",
    "UploadInvalidError",
    "UploadUnconfirmedError",
    "describe_fr",
    "problem_fr",
]
