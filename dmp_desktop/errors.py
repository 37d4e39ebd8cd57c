"""Typed exceptions of the core, and the one place that turns them into French.

The core raises these with data, never with prose meant for the user;
:func:`describe` is the single translation point used by the window, the CLI
and the crash handler. No message here may carry health data.
"""

from __future__ import annotations


class DmpDesktopError(Exception):
    """Base of every error the application knows how to explain."""


# --- card -----------------------------------------------------------------
class CardError(DmpDesktopError):
    pass


class MiddlewareNotFoundError(CardError):
    def __init__(self, path: str | None) -> None:
        super().__init__(path)
        self.path = path


class MiddlewareLoadError(MiddlewareNotFoundError):
    """The PKCS#11 module is there but cannot be loaded (damaged, wrong architecture)."""


class NoReaderError(CardError):
    pass


class NoCardError(CardError):
    pass


class CardNotRecognisedError(CardError):
    pass


class PinIncorrectError(CardError):
    def __init__(self, tries_left: int | None, final_try: bool = False) -> None:
        super().__init__(tries_left)
        self.tries_left = tries_left
        self.final_try = final_try


class PinLockedError(CardError):
    pass


class PinFormatError(CardError):
    pass


class CardRemovedError(CardError):
    pass


# --- network / TLS ----------------------------------------------------------
class NetworkError(DmpDesktopError):
    pass


class HostUnreachableError(NetworkError):
    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class HostCertificateError(NetworkError):
    """The server is not the DMP host we trust (unknown root, wrong name, expired)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClientCertificateRejectedError(NetworkError):
    pass


class TimeoutError_(NetworkError):
    pass


# --- DMP protocol -----------------------------------------------------------
class DmpProtocolError(DmpDesktopError):
    """The host answered something we cannot read (malformed, hostile, unexpected)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DmpServiceError(DmpDesktopError):
    """The DMP refused the request with a business code (SOAP fault, HL7 or XDS error)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


class SettingsError(DmpDesktopError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidContactError(DmpDesktopError):
    """A patient's contact typed by the user is invalid (nothing was sent).

    ``field``: ``mobile``, ``phone``, ``email`` or ``postal_code``.
    """

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


_INVALID_CONTACT_FR: dict[str, str] = {
    "mobile": (
        "Numéro de mobile invalide : saisissez un mobile français à 10 chiffres "
        "commençant par 06 ou 07 (par exemple 06 12 34 56 78)."
    ),
    "phone": "Numéro de téléphone invalide : saisissez 10 chiffres (par exemple 01 23 45 67 89).",
    "email": "Adresse électronique invalide : vérifiez-la (par exemple prenom.nom@exemple.fr).",
    "postal_code": "Code postal invalide : saisissez 5 chiffres.",
}


_SERVICE_CODES_FR: dict[str, str] = {
    "DMPAccessDenied": "Le DMP a refusé l'accès à ce dossier.",
    "DMPAccessDeniedByExcludedPs": "Le patient vous a bloqué : l'accès à son DMP vous est refusé.",
    "DMPClosed": (
        "Le DMP de ce patient est fermé : il n'accepte plus de nouveaux documents ni de "
        "modifications. À la demande du patient, vous pouvez le réactiver (menu Dossier, "
        "« Réactiver le DMP… »)."
    ),
    "DMPTreatingPhysicianProtected": (
        "Le médecin traitant DMP du patient ne peut pas être bloqué. Le patient doit d'abord "
        "désigner un autre médecin traitant."
    ),
    "DMPNotFound": "Ce patient n'a pas de DMP.",
    "DMPFound": "Ce patient a déjà un DMP : il n'a pas été créé une seconde fois.",
    "DMPAuthenticationError": (
        "Le DMP n'a pas reconnu votre authentification. Vérifiez que la date et l'heure "
        "de l'ordinateur sont justes, puis retirez et réinsérez votre carte CPS."
    ),
    "DMPInvalidRequest": "Le DMP a refusé une requête mal formée. Contactez le support.",
    "DMPInternalError": "Le DMP a rencontré une erreur interne. Réessayez dans quelques minutes.",
    "DMPEmergencyAccessOpposed": (
        "Le patient s'est opposé à l'accès d'urgence à son DMP : cet accès vous est refusé."
    ),
    "XDSDocumentUniqueIdError": (
        "Ce document n'existe pas (ou plus) dans le DMP. Actualisez la liste des documents."
    ),
    "XDSUnknownRepositoryId": (
        "Le DMP ne trouve pas l'entrepôt de ce document. Actualisez la liste des documents ; "
        "si le problème persiste, contactez le support."
    ),
    "XDSRegistryError": "Le DMP n'a pas pu traiter la recherche. Réessayez dans quelques minutes.",
    "XDSRepositoryError": (
        "Le DMP n'a pas pu fournir le document. Réessayez dans quelques minutes."
    ),
    "XDSRegistryMetadataError": (
        "Le DMP a refusé les informations jointes au document (type, dates, auteur…). "
        "Vérifiez-les ; si le problème persiste, contactez le support."
    ),
    "XDSPatientIdDoesNotMatch": (
        "Le document ne concerne pas le patient indiqué : vérifiez l'INS avant de renvoyer."
    ),
    "XDSUnknownPatientId": "Ce patient n'a pas de DMP : le document n'a pas été envoyé.",
    "XDSMissingDocument": "Le document n'est pas parvenu au DMP. Renvoyez-le.",
    "XDSDuplicateUniqueIdInRegistry": "Ce document est déjà dans le DMP.",
    "XDSMetadataVersionError": (
        "Le document a été modifié entre-temps (par vous ou un confrère) : actualisez la "
        "liste des documents puis recommencez."
    ),
    "DMPDocumentSignatureError": (
        "Le DMP a refusé la signature du document. Vérifiez votre carte CPS puis réessayez."
    ),
    "DMPForbiddenConfidentiality": (
        "Un document ne peut pas être à la fois masqué aux professionnels de santé et "
        "invisible pour le patient."
    ),
    "DMPNotAuthor": "Seul l'auteur du document peut faire cette opération.",
    "DMPMinorPatient": (
        "Patient mineur : il ne peut pas avoir d'accès en ligne à son DMP. Son représentant "
        "légal y accède avec ses propres coordonnées."
    ),
    "DMPPatientAccessExists": (
        "Ce patient a déjà un accès en ligne. Pour lui remettre de nouveaux identifiants, "
        "utilisez « Renouveler les identifiants »."
    ),
    "DMPPatientAccessNotFound": "Ce patient n'a pas encore d'accès en ligne : créez-le d'abord.",
    "DMPOtpChannelRequired": (
        "Le patient doit garder au moins un moyen de recevoir ses codes (mobile ou courriel) : "
        "ajoutez-en un autre avant de supprimer celui-ci."
    ),
    "DMPInvalidDocument": (
        "Le DMP a refusé le document : ce n'est pas un document CDA valide ou il est vide. "
        "Vérifiez le fichier puis renvoyez-le."
    ),
    "XDSRepositoryMetadataError": (
        "Le DMP a refusé le document : sa taille ou son empreinte ne correspond pas au "
        "contenu reçu. Renvoyez-le depuis les envois en attente."
    ),
    "XDSRegistryDuplicateUniqueIdInMessage": (
        "Le DMP a refusé l'envoi : le même identifiant de document y figure deux fois. "
        "Contactez le support."
    ),
    "XDSMissingDocumentMetadata": (
        "Le DMP a refusé l'envoi : des informations obligatoires du document manquent. "
        "Contactez le support."
    ),
    "XDSMetadataUpdateError": (
        "Le DMP a refusé la modification du document (il a peut-être déjà été modifié "
        "ou supprimé). Actualisez la liste (F5) puis réessayez."
    ),
}


_TERMINOLOGY_IMPORT_FR: dict[str, str] = {
    "missing": (
        "Le fichier {name} est introuvable. Choisissez le fichier téléchargé (ATIH : "
        "LIBCIM10MULTI.TXT ; ANSM : dossier contenant CIS_bdpm.txt)."
    ),
    "unreadable": "Le fichier {name} n'a pas pu être lu ; rien n'a été modifié.",
    "unrecognised": (
        "Ce fichier ne ressemble pas à la liste attendue ; rien n'a été modifié. "
        "Vérifiez que c'est le bon fichier."
    ),
    "cancelled": "Import annulé ; la liste précédente est conservée.",
}
_TERMINOLOGY_IMPORT_FR["no-valid-rows"] = _TERMINOLOGY_IMPORT_FR["unrecognised"]
_TERMINOLOGY_IMPORT_FR["too-many-errors"] = _TERMINOLOGY_IMPORT_FR["unrecognised"]
_TERMINOLOGY_INDEX_FR: dict[str, str] = {
    "corrupt": (
        "La base des terminologies est endommagée. Supprimez le fichier terminology.sqlite "
        "du dossier de données : il sera recréé ; réimportez ensuite vos fichiers."
    ),
    "newer-schema": (
        "La base des terminologies a été créée par une version plus récente du logiciel. "
        "Mettez DMP Desktop à jour."
    ),
    "unwritable": (
        "Impossible d'écrire la base des terminologies dans le dossier de l'application. "
        "Vérifiez les droits sur ce dossier."
    ),
    "closed": "La base des terminologies est fermée. Rouvrez la synthèse médicale.",
}


def describe(exc: BaseException) -> str:
    """A short French message saying what happened and what to do."""
    if isinstance(exc, MiddlewareLoadError):
        return (
            f"Le logiciel de la carte CPS ({exc.path}) est présent mais ne peut pas être "
            "chargé (installation incomplète ou version 32/64 bits inadaptée). "
            "Réinstallez la Cryptolib CPS ou choisissez un autre module dans les paramètres."
        )
    if isinstance(exc, MiddlewareNotFoundError):
        where = f" ({exc.path})" if exc.path else ""
        return (
            f"Le logiciel de la carte CPS (Cryptolib CPS) est introuvable{where}. "
            "Installez-le ou indiquez son emplacement dans les paramètres."
        )
    if isinstance(exc, NoReaderError):
        return "Aucun lecteur de carte n'est détecté. Branchez le lecteur puis réessayez."
    if isinstance(exc, NoCardError):
        return "Aucune carte CPS dans le lecteur. Insérez votre carte."
    if isinstance(exc, CardNotRecognisedError):
        return (
            "La carte insérée n'est pas reconnue comme une carte CPS. "
            "Vérifiez qu'il s'agit bien de votre carte professionnelle."
        )
    if isinstance(exc, PinIncorrectError):
        if exc.tries_left == 1 or exc.final_try:
            return (
                "Code PIN incorrect. ATTENTION : il ne vous reste qu'un essai ; "
                "un nouvel échec bloquera la carte."
            )
        if exc.tries_left is not None:
            return f"Code PIN incorrect. Il vous reste {exc.tries_left} essais."
        return "Code PIN incorrect. Vérifiez votre saisie : la carte se bloque après 3 échecs."
    if isinstance(exc, PinLockedError):
        return (
            "La carte CPS est bloquée après trop de codes PIN erronés. "
            "Débloquez-la avec votre code PUK (outil de gestion de la carte CPS)."
        )
    if isinstance(exc, PinFormatError):
        return "Le code PIN comporte 4 à 8 caractères."
    if isinstance(exc, CardRemovedError):
        return "La carte CPS a été retirée : la session est fermée. Réinsérez-la pour continuer."
    if isinstance(exc, HostCertificateError):
        return (
            "Le serveur contacté n'a pas présenté de certificat de confiance "
            f"({exc.reason}). Aucune donnée n'a été envoyée. Vérifiez l'adresse du DMP "
            "dans les paramètres."
        )
    if isinstance(exc, ClientCertificateRejectedError):
        return (
            "Le DMP a refusé le certificat de votre carte. Vérifiez que votre carte est "
            "valide et que le mode (formation ou production) est le bon."
        )
    if isinstance(exc, TimeoutError_):
        return "Le DMP ne répond pas dans les délais. Vérifiez votre connexion puis réessayez."
    if isinstance(exc, HostUnreachableError):
        return (
            "Impossible de joindre le DMP. Vérifiez votre connexion Internet "
            "et l'adresse du service dans les paramètres."
        )
    if isinstance(exc, DmpServiceError):
        known = _SERVICE_CODES_FR.get(exc.code)
        if known:
            return known
        return f"Le DMP a refusé la demande (code {exc.code}). Réessayez ou contactez le support."
    if isinstance(exc, DmpProtocolError):
        return (
            "La réponse du DMP est illisible ou inattendue ; elle a été ignorée. "
            "Réessayez ; si le problème persiste, contactez le support."
        )
    from dmp_desktop.storage.secure import (
        CorruptFileError,
        KeyUnavailableError,
        LocalWriteError,
    )

    if isinstance(exc, KeyUnavailableError):
        return (
            "Aucun trousseau de clés système n'est disponible pour chiffrer les données "
            "locales. Installez ou déverrouillez le trousseau (GNOME Keyring, KWallet…)."
        )
    if isinstance(exc, LocalWriteError):
        if exc.reason == "full":
            return (
                "Le disque de l'ordinateur est plein : l'enregistrement n'a pas pu se faire. "
                "Libérez de l'espace disque puis réessayez ; votre saisie est conservée."
            )
        if exc.reason == "denied":
            return (
                "Impossible d'écrire dans le dossier de données de DMP Desktop (droits "
                "insuffisants ou disque en lecture seule). Faites vérifier ce dossier, puis "
                "réessayez ; votre saisie est conservée."
            )
        return (
            "L'enregistrement sur le disque a échoué. Réessayez ; votre saisie est conservée. "
            "Si le problème persiste, faites vérifier le disque."
        )
    if isinstance(exc, CorruptFileError):
        return (
            "Un fichier local chiffré est illisible (clé différente ou fichier abîmé). "
            "Il a été laissé en place ; contactez le support."
        )
    if isinstance(exc, SettingsError):
        return f"Paramètres invalides : {exc.reason}"
    if isinstance(exc, InvalidContactError):
        return _INVALID_CONTACT_FR.get(exc.field, _INVALID_CONTACT_FR["phone"])
    from dmp_desktop.cda.errors import CdaError, describe_fr

    if isinstance(exc, CdaError):
        return describe_fr(exc)
    from dmp_desktop.dmp.feed_errors import FeedError
    from dmp_desktop.dmp.feed_errors import describe_fr as feed_describe_fr

    if isinstance(exc, FeedError):
        return feed_describe_fr(exc)
    from dmp_desktop.identity.coherence import IdentityMismatchError

    if isinstance(exc, IdentityMismatchError):
        return exc.message_fr()
    from dmp_desktop.terminology.errors import TerminologyImportError, TerminologyIndexError

    if isinstance(exc, TerminologyImportError):
        text = _TERMINOLOGY_IMPORT_FR.get(exc.reason, _TERMINOLOGY_IMPORT_FR["unrecognised"])
        return text.format(name=exc.detail or exc.source)
    if isinstance(exc, TerminologyIndexError):
        return _TERMINOLOGY_INDEX_FR.get(exc.reason, _TERMINOLOGY_INDEX_FR["corrupt"])
    return "Une erreur inattendue est survenue. Réessayez ; aucune donnée n'a été perdue."
