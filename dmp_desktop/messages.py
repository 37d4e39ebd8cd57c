"""Every French message of the core, and the one translator that shows them.

The core never writes prose for the user: a typed error (see
:mod:`dmp_desktop.errors`) carries a :class:`Msg`, a message id and its
parameters. :func:`render` looks the id up in :data:`CATALOGUE` (French is
the source language), translates it, then fills in the parameters.
Parameters may themselves be messages (rendered the same way) or sequences
of messages (rendered one per line), so a sentence and its parts are all
translatable.

Translation: when the window runs, the Qt core module is loaded and
``QCoreApplication.translate("Messages", source, id)`` is used (the id is
the disambiguation, so two ids with the same French stay two entries for
the translator). The ``dmp`` command never loads Qt: this module imports
nothing from Qt, and without it the French source is used as is.
:func:`set_translator` replaces both (tests).

No message may carry health data: parameters are codes, counts, field
names, file names and the host's own refusal reasons.
"""

from __future__ import annotations

import logging
import string
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

log = logging.getLogger(__name__)

CONTEXT = "Messages"
UNEXPECTED = "error.unexpected"

Translator = Callable[[str, str], str]  # (French source, message id) -> shown text


@dataclass(frozen=True)
class Msg:
    """A message to show: an id of :data:`CATALOGUE` and the values of its fields."""

    id: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return render(self)


def msg(message_id: str, **params: Any) -> Msg:
    return Msg(message_id, MappingProxyType(dict(params)))


def _qt_translator(source: str, message_id: str) -> str:
    qtcore = sys.modules.get("PySide6.QtCore")  # loaded by the window, never by the CLI
    if qtcore is None:
        return source
    return str(qtcore.QCoreApplication.translate(CONTEXT, source, message_id))


_translator: Translator = _qt_translator


def set_translator(translator: Translator | None) -> None:
    """Use ``translator`` for every message (None: back to Qt-when-loaded)."""
    global _translator
    _translator = translator or _qt_translator


def _value(value: Any) -> str:
    if isinstance(value, Msg):
        return render(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return "\n".join(_value(item) for item in value)
    return str(value)


def render(message: Msg) -> str:
    """The text of ``message``: translated, its fields filled in."""
    source = CATALOGUE.get(message.id)
    if source is None:
        log.warning("unknown message id %s", message.id)
        return render(Msg(UNEXPECTED))
    translated = _translator(source, message.id)
    if not message.params:
        return translated
    values = {name: _value(value) for name, value in message.params.items()}
    try:
        return translated.format_map(values)
    except (KeyError, IndexError, ValueError):  # a translation with a wrong field: the source
        log.warning("message %s: translation does not match its fields", message.id)
        return source.format_map(values)


def text(message_id: str, **params: Any) -> str:
    """Shortcut: ``render(msg(message_id, **params))``."""
    return render(msg(message_id, **params))


def fields_of(message_id: str) -> frozenset[str]:
    """The names of the fields a message's French source expects."""
    return frozenset(
        name for _, name, _, _ in string.Formatter().parse(CATALOGUE[message_id]) if name
    )


# --- the catalogue ----------------------------------------------------------------------------
# Ids are grouped by family; a family whose last part is a code (``dmp.code.<code>``,
# ``upload.problem.<code>``…) is looked up by that code.

_CATALOGUE: dict[str, str] = {
    UNEXPECTED: "Une erreur inattendue est survenue. Réessayez ; aucune donnée n'a été perdue.",
    "lines": "{lines}",  # several messages, one per line
    # --- card ---
    "card.middleware_unloadable": (
        "Le logiciel de la carte CPS ({path}) est présent mais ne peut pas être "
        "chargé (installation incomplète ou version 32/64 bits inadaptée). "
        "Réinstallez la Cryptolib CPS ou choisissez un autre module dans les paramètres."
    ),
    "card.middleware_missing": (
        "Le logiciel de la carte CPS (Cryptolib CPS) est introuvable. "
        "Installez-le ou indiquez son emplacement dans les paramètres."
    ),
    "card.middleware_missing_at": (
        "Le logiciel de la carte CPS (Cryptolib CPS) est introuvable ({path}). "
        "Installez-le ou indiquez son emplacement dans les paramètres."
    ),
    "card.no_reader": "Aucun lecteur de carte n'est détecté. Branchez le lecteur puis réessayez.",
    "card.no_card": "Aucune carte CPS dans le lecteur. Insérez votre carte.",
    "card.not_recognised": (
        "La carte insérée n'est pas reconnue comme une carte CPS. "
        "Vérifiez qu'il s'agit bien de votre carte professionnelle."
    ),
    "card.pin_incorrect_last_try": (
        "Code PIN incorrect. ATTENTION : il ne vous reste qu'un essai ; "
        "un nouvel échec bloquera la carte."
    ),
    "card.pin_incorrect_tries": "Code PIN incorrect. Il vous reste {tries} essais.",
    "card.pin_incorrect": (
        "Code PIN incorrect. Vérifiez votre saisie : la carte se bloque après 3 échecs."
    ),
    "card.pin_locked": (
        "La carte CPS est bloquée après trop de codes PIN erronés. "
        "Débloquez-la avec votre code PUK (outil de gestion de la carte CPS)."
    ),
    "card.pin_format": "Le code PIN comporte 4 à 8 caractères.",
    "card.removed": (
        "La carte CPS a été retirée : la session est fermée. Réinsérez-la pour continuer."
    ),
    "card.unknown_profession": (
        "La profession inscrite sur la carte CPS n'est pas reconnue : « {title} ». "
        "DMP Desktop ne peut pas vous identifier auprès du DMP avec cette carte ; "
        "vérifiez la carte ou contactez l'assistance de DMP Desktop."
    ),
    "card.unknown_profession_code": (
        "La profession inscrite sur la carte CPS n'est pas reconnue : « {title} », "
        "code {code}. DMP Desktop ne peut pas vous identifier auprès du DMP avec cette "
        "carte ; vérifiez la carte ou contactez l'assistance de DMP Desktop."
    ),
    "card.situation_required": (
        "Votre carte CPS comporte plusieurs situations d'exercice : {situations}. "
        "Choisissez celle du lieu où vous exercez aujourd'hui (identifiant de structure "
        "dans les paramètres, choix proposé par la fenêtre, ou option --situation "
        "IDENTIFIANT_STRUCTURE de la commande dmp)."
    ),
    "card.situation_declined": (
        "Aucune situation d'exercice choisie : la session n'est pas ouverte."
    ),
    # --- network and TLS ---
    "net.host_certificate": (
        "Le serveur contacté n'a pas présenté de certificat de confiance "
        "({reason}). Aucune donnée n'a été envoyée. Vérifiez l'adresse du DMP "
        "dans les paramètres."
    ),
    "tls.reason.no_certificate": "aucun certificat présenté",
    "tls.reason.expired": "certificat expiré ou pas encore valide",
    "tls.reason.name": "le certificat ne correspond pas au nom du serveur",
    "tls.reason.chain": "autorité de certification inconnue ou chaîne non conforme",
    "tls.reason.bad_name": "nom de serveur invalide",
    "tls.reason.negotiation": "version TLS ou chiffrement non acceptés",
    "net.client_certificate_rejected": (
        "Le DMP a refusé le certificat de votre carte. Vérifiez que votre carte est "
        "valide et que le mode (formation ou production) est le bon."
    ),
    "net.timeout": "Le DMP ne répond pas dans les délais. Vérifiez votre connexion puis réessayez.",
    "net.tls_negotiation": (
        "Le serveur contacté et DMP Desktop n'ont aucune version de TLS ou méthode de "
        "chiffrement en commun (TLS 1.2 avec AES-GCM au minimum ; TLS 1.3 n'est possible "
        "qu'avec une carte CPS4). Aucune donnée n'a été envoyée. Vérifiez l'adresse du "
        "DMP dans les paramètres ; si elle est juste, le serveur n'est pas celui du DMP."
    ),
    "net.proxy_auth": (
        "Le proxy du cabinet demande une identification pour joindre le DMP. "
        "Indiquez-la dans l'adresse du proxy (http://identifiant:motdepasse@serveur:port) "
        "ou demandez à votre prestataire d'autoriser l'accès au DMP."
    ),
    "net.proxy_refused": (
        "Le proxy du cabinet a refusé l'accès au DMP (réponse {status}). "
        "Vérifiez le proxy dans les paramètres ou auprès de votre prestataire."
    ),
    "net.proxy_unreachable": (
        "Le proxy du cabinet ne répond pas. Vérifiez son adresse dans les paramètres "
        "(ou celle du système), puis réessayez."
    ),
    "net.unreachable": (
        "Impossible de joindre le DMP. Vérifiez votre connexion Internet "
        "et l'adresse du service dans les paramètres."
    ),
    # --- the DMP's answers ---
    "dmp.online_access_by_patient": (
        "Le patient active lui-même son accès en ligne à Mon espace santé "
        "(www.monespacesante.fr, avec sa carte Vitale ou le code reçu par courrier) ; "
        "le DMP ne permet plus de l'ouvrir depuis le logiciel du professionnel."
    ),
    "dmp.training_only": (
        "Cette fonction n'existe qu'en mode formation : le DMP ne la propose pas aux "
        "logiciels des professionnels."
    ),
    "dmp.protocol": (
        "La réponse du DMP est illisible ou inattendue ; elle a été ignorée. "
        "Réessayez ; si le problème persiste, contactez le support."
    ),
    "dmp.list_too_large": (
        "Le DMP renvoie plus de {limit} documents pour cette recherche : c'est plus que "
        "DMP Desktop n'en affiche à la fois. Réduisez la période ou cherchez un type de "
        "document précis."
    ),
    "dmp.code.unknown": (
        "Le DMP a refusé la demande (code {code}). Réessayez ou contactez le support."
    ),
    "dmp.refused_with_reason": "{message}\nMotif donné par le DMP : {reason}",
    "dmp.code.DMPAccessDenied": "Le DMP a refusé l'accès à ce dossier.",
    "dmp.code.DMPAccessDeniedByExcludedPs": (
        "Le patient vous a bloqué : l'accès à son DMP vous est refusé."
    ),
    "dmp.code.DMPClosed": (
        "Le DMP de ce patient est fermé : il n'accepte plus de nouveaux documents ni de "
        "modifications. À la demande du patient, vous pouvez le réactiver (menu Dossier, "
        "« Réactiver le DMP… »)."
    ),
    "dmp.code.DMPTreatingPhysicianProtected": (
        "Le médecin traitant DMP du patient ne peut pas être bloqué. Le patient doit d'abord "
        "désigner un autre médecin traitant."
    ),
    "dmp.code.DMPNotFound": "Ce patient n'a pas de DMP.",
    "dmp.code.DMPFound": "Ce patient a déjà un DMP : il n'a pas été créé une seconde fois.",
    "dmp.code.DMPAuthenticationError": (
        "Le DMP n'a pas reconnu votre authentification. Vérifiez que la date et l'heure "
        "de l'ordinateur sont justes, puis retirez et réinsérez votre carte CPS."
    ),
    "dmp.code.DMPInvalidRequest": "Le DMP a refusé une requête mal formée. Contactez le support.",
    "dmp.code.DMPInternalError": (
        "Le DMP a rencontré une erreur interne. Réessayez dans quelques minutes."
    ),
    "dmp.code.DMPEmergencyAccessOpposed": (
        "Le patient s'est opposé à l'accès d'urgence à son DMP : cet accès vous est refusé."
    ),
    "dmp.code.XDSDocumentUniqueIdError": (
        "Ce document n'existe pas (ou plus) dans le DMP. Actualisez la liste des documents."
    ),
    "dmp.code.XDSUnknownRepositoryId": (
        "Le DMP ne trouve pas l'entrepôt de ce document. Actualisez la liste des documents ; "
        "si le problème persiste, contactez le support."
    ),
    "dmp.code.XDSRegistryError": (
        "Le DMP n'a pas pu traiter la recherche. Réessayez dans quelques minutes."
    ),
    "dmp.code.XDSRepositoryError": (
        "Le DMP n'a pas pu fournir le document. Réessayez dans quelques minutes."
    ),
    "dmp.code.XDSRegistryMetadataError": (
        "Le DMP a refusé les informations jointes au document (type, dates, auteur…). "
        "Vérifiez-les ; si le problème persiste, contactez le support."
    ),
    "dmp.code.XDSPatientIdDoesNotMatch": (
        "Le document ne concerne pas le patient indiqué : vérifiez l'INS avant de renvoyer."
    ),
    "dmp.code.XDSUnknownPatientId": ("Ce patient n'a pas de DMP : le document n'a pas été envoyé."),
    "dmp.code.XDSMissingDocument": "Le document n'est pas parvenu au DMP. Renvoyez-le.",
    "dmp.code.XDSDuplicateUniqueIdInRegistry": "Ce document est déjà dans le DMP.",
    "dmp.code.XDSMetadataVersionError": (
        "Le document a été modifié entre-temps (par vous ou un confrère) : actualisez la "
        "liste des documents puis recommencez."
    ),
    "dmp.code.DMPDocumentSignatureError": (
        "Le DMP a refusé la signature du document. Vérifiez votre carte CPS puis réessayez."
    ),
    "dmp.code.DMPForbiddenConfidentiality": (
        "Un document ne peut pas être à la fois masqué aux professionnels de santé et "
        "invisible pour le patient."
    ),
    "dmp.code.DMPNotAuthor": "Seul l'auteur du document peut faire cette opération.",
    "dmp.code.DMPMinorPatient": (
        "Patient mineur : il ne peut pas avoir d'accès en ligne à son DMP. Son représentant "
        "légal y accède avec ses propres coordonnées."
    ),
    "dmp.code.DMPPatientAccessExists": (
        "Ce patient a déjà un accès en ligne. Pour lui remettre de nouveaux identifiants, "
        "utilisez « Renouveler les identifiants »."
    ),
    "dmp.code.DMPPatientAccessNotFound": (
        "Ce patient n'a pas encore d'accès en ligne : créez-le d'abord."
    ),
    "dmp.code.DMPOtpChannelRequired": (
        "Le patient doit garder au moins un moyen de recevoir ses codes (mobile ou courriel) : "
        "ajoutez-en un autre avant de supprimer celui-ci."
    ),
    "dmp.code.DMPInvalidDocument": (
        "Le DMP a refusé le document : ce n'est pas un document CDA valide ou il est vide. "
        "Vérifiez le fichier puis renvoyez-le."
    ),
    "dmp.code.XDSRepositoryMetadataError": (
        "Le DMP a refusé le document : sa taille ou son empreinte ne correspond pas au "
        "contenu reçu. Renvoyez-le depuis les envois en attente."
    ),
    "dmp.code.XDSRegistryDuplicateUniqueIdInMessage": (
        "Le DMP a refusé l'envoi : le même identifiant de document y figure deux fois. "
        "Contactez le support."
    ),
    "dmp.code.XDSMissingDocumentMetadata": (
        "Le DMP a refusé l'envoi : des informations obligatoires du document manquent. "
        "Contactez le support."
    ),
    "dmp.code.XDSMetadataUpdateError": (
        "Le DMP a refusé la modification du document (il a peut-être déjà été modifié "
        "ou supprimé). Actualisez la liste (F5) puis réessayez."
    ),
    # --- settings ---
    "settings.invalid": "Paramètres invalides : {reason}",
    "settings.host_url": "l'adresse du DMP doit commencer par https:// et nommer un hôte.",
    "settings.host_url_invalid": "adresse du DMP invalide.",
    "settings.https_required": "l'adresse du DMP doit commencer par https://.",
    "settings.auth_mode_unknown": "mode d'authentification inconnu.",
    "settings.auth_mode_unsupported": (
        "mode d'authentification pris en charge : carte CPS, ou certificat de structure "
        "(indirect renforcé) avec son fichier PKCS#12."
    ),
    "settings.structure_p12_required": (
        "le mode certificat de structure demande le fichier PKCS#12 de la structure."
    ),
    "settings.structure_id_missing": "identifiant de la structure manquant.",
    "settings.profile_unknown": "profil inconnu (« formation » ou « dmp »).",
    "settings.platform_unknown": "plateforme DMP inconnue (« production » ou « test »).",
    "settings.endpoint_unknown": "service DMP inconnu dans les adresses : {services}.",
    "settings.proxy_url": (
        "le proxy doit s'écrire http://serveur:port (ex. http://proxy.cabinet:3128) ; "
        "les proxys https:// ne sont pas pris en charge."
    ),
    "settings.test_platform_url": (
        "la plateforme de test du DMP demande son adresse (donnée par l'Assurance "
        "Maladie) : renseignez « Adresse du DMP »."
    ),
    "settings.test_platform_roots": (
        "la plateforme de test du DMP demande le certificat racine de test IGC-Santé "
        "(TEST AC RACINE IGC-SANTE ELEMENTAIRE) : renseignez le fichier des autorités de "
        "confiance."
    ),
    "settings.homologation_missing": (
        "le profil DMP demande le numéro d'homologation DMP du logiciel (donné par "
        "l'Assurance Maladie) : renseignez « N° d'homologation » dans les paramètres, "
        "ou utilisez le profil Formation."
    ),
    "settings.lps_missing": "le nom et la version du logiciel (LPS) sont obligatoires.",
    "settings.igc_sante_root_altered": (
        "le certificat racine IGC-Santé livré avec DMP Desktop a été modifié "
        "(empreinte SHA-256 inattendue) : réinstallez le logiciel."
    ),
    "settings.ins_kind_unknown": "autorité d'affectation de l'INS inconnue.",
    "settings.timeouts": "les délais d'attente doivent être positifs.",
    "settings.file_unreadable": "fichier de paramètres illisible ({name}).",
    "settings.trust_roots_missing": "fichier des autorités de confiance introuvable : {path}",
    "settings.trust_roots_unreadable": "fichier des autorités de confiance illisible : {name}",
    "settings.trust_roots_empty": "aucune autorité de confiance dans {name}",
    "settings.trust_roots_none": "aucune autorité de confiance configurée",
    "settings.professional": "professionnel n° {number} du cabinet",
    "settings.professional_unreadable": "{where} : entrée illisible, corrigez les paramètres.",
    "settings.professional_missing": "{where} : « {key} » manque, complétez les paramètres.",
    "settings.professional_not_text": "{where} : « {key} » doit être un texte.",
    "settings.professional_national_id": (
        "{where} : identifiant national « {value} » invalide (RPPS précédé de 8, "
        "ou ADELI précédé de 0) ; corrigez les paramètres."
    ),
    "settings.professional_profession": (
        "{where} : code de profession « {value} » inconnu (nomenclature G15) ; "
        "corrigez les paramètres."
    ),
    "settings.key_unreadable": "certificat ou clé privée illisible.",
    "settings.key_not_rsa": "la clé privée doit être une clé RSA.",
    "settings.p12_unreadable": "fichier PKCS#12 illisible ou mot de passe incorrect.",
    "settings.p12_incomplete": "le fichier PKCS#12 doit contenir une clé RSA et son certificat.",
    "settings.structure_no_keyring": (
        "aucun trousseau système (GNOME Keyring, KWallet, trousseau macOS ou Windows) n'est "
        "disponible pour garder le mot de passe du certificat de structure."
    ),
    "settings.structure_p12_unset": (
        "aucun fichier PKCS#12 de structure n'est indiqué dans les paramètres."
    ),
    "settings.structure_p12_missing": "fichier PKCS#12 de la structure introuvable : {path}",
    "settings.structure_passphrase_missing": (
        "le mot de passe du certificat de structure n'est pas dans le trousseau "
        "système : saisissez-le dans Paramètres (Ctrl+,)."
    ),
    "settings.structure_not_structure_certificate": (
        "le certificat du fichier PKCS#12 n'est pas un certificat de structure "
        "(identifiant de structure absent)."
    ),
    # --- the DMP's status, as the doctor reads it ---
    "status.none": "Ce patient n'a pas de DMP.",
    "status.closed": "Le DMP de ce patient a été fermé.",
    "status.closed_on": "Le DMP de ce patient a été fermé le {date}.",
    "status.active": "Le patient a un DMP actif.",
    "status.treating_physician": "Vous êtes son médecin traitant DMP.",
    "status.minor": "Patient mineur : le DMP est géré par ses représentants légaux.",
    "status.authorization.valid": "Vous avez une autorisation d'accès valide.",
    "status.authorization.none": (
        "Vous n'avez pas encore d'autorisation d'accès : demandez au patient son consentement."
    ),
    "status.authorization.expired": (
        "Votre autorisation d'accès a expiré : demandez à nouveau le consentement du patient."
    ),
    "status.authorization.blocked": (
        "Le patient vous a bloqué : vous ne pouvez pas accéder à son DMP."
    ),
    # The same, for a patient known to be a woman (the DMP's administrative sex F).
    "status.none.f": "Cette patiente n'a pas de DMP.",
    "status.closed.f": "Le DMP de cette patiente a été fermé.",
    "status.closed_on.f": "Le DMP de cette patiente a été fermé le {date}.",
    "status.active.f": "La patiente a un DMP actif.",
    "status.minor.f": "Patiente mineure : le DMP est géré par ses représentants légaux.",
    "status.authorization.none.f": (
        "Vous n'avez pas encore d'autorisation d'accès : demandez à la patiente son consentement."
    ),
    "status.authorization.expired.f": (
        "Votre autorisation d'accès a expiré : demandez à nouveau le consentement de la patiente."
    ),
    "status.authorization.blocked.f": (
        "La patiente vous a bloqué : vous ne pouvez pas accéder à son DMP."
    ),
    # A secretary (CPE card) feeds a DMP, never reads it: no consent to ask for.
    "status.staff": (
        "Secrétariat : vous pouvez envoyer des documents dans ce DMP pour un professionnel "
        "du cabinet, sans pouvoir le consulter."
    ),
    # --- local files ---
    "storage.key_unavailable": (
        "Aucun trousseau de clés système n'est disponible pour chiffrer les données "
        "locales. Installez ou déverrouillez le trousseau (GNOME Keyring, KWallet…)."
    ),
    "storage.write.full": (
        "Le disque de l'ordinateur est plein : l'enregistrement n'a pas pu se faire. "
        "Libérez de l'espace disque puis réessayez ; votre saisie est conservée."
    ),
    "storage.write.denied": (
        "Impossible d'écrire dans le dossier de données de DMP Desktop (droits "
        "insuffisants ou disque en lecture seule). Faites vérifier ce dossier, puis "
        "réessayez ; votre saisie est conservée."
    ),
    "storage.write.failed": (
        "L'enregistrement sur le disque a échoué. Réessayez ; votre saisie est conservée. "
        "Si le problème persiste, faites vérifier le disque."
    ),
    "storage.corrupt": (
        "Un fichier local chiffré est illisible (clé différente ou fichier abîmé). "
        "Il a été laissé en place ; contactez le support."
    ),
    # --- the patient's identity and contacts ---
    "ins.unknown_authority": "Autorité d'affectation de l'INS inconnue : {oid}",
    "ins.nir_length": "Le NIR doit comporter 13 caractères avant la clé.",
    "ins.length": "L'INS doit comporter 15 caractères : 13 pour le numéro, 2 pour la clé.",
    "ins.key_mismatch": "La clé de l'INS ne correspond pas au numéro : vérifiez la saisie.",
    "ins.typing.empty": "Saisissez l'INS du patient (15 caractères).",
    "ins.typing.not_digits": "L'INS ne contient que des chiffres (2A/2B pour la Corse).",
    "ins.typing.count": "{count}/15 caractères saisis.",
    "ins.typing.too_long": "L'INS comporte 15 caractères : il y en a trop.",
    "ins.typing.valid": "INS valide (clé de contrôle correcte).",
    "traits.birth_name": "Saisissez le nom de naissance.",
    "traits.birth_name_long": "Le nom de naissance est trop long (100 caractères au plus).",
    "traits.given_names": "Saisissez au moins le premier prénom de naissance.",
    "traits.given_names_long": "Les prénoms sont trop longs (100 caractères au plus).",
    "traits.sex": "Indiquez le sexe : F ou M.",
    "traits.birth_date": "La date de naissance est dans le futur.",
    "traits.birthplace": (
        "Le lieu de naissance est un code INSEE à 5 caractères (99xxx pour un pays étranger)."
    ),
    "insi.advice.not_found": (
        "Aucune identité trouvée par le téléservice INSi. Vérifiez le nom de naissance (et non "
        "le nom d'usage), le premier prénom de naissance, la date de naissance et le sexe sur "
        "une pièce d'identité ; essayez avec tous les prénoms de naissance, ou avec le code "
        "INSEE du lieu de naissance."
    ),
    "insi.advice.several": (
        "Plusieurs identités correspondent à ces traits. Ajoutez les autres prénoms de "
        "naissance de la pièce d'identité, puis, s'il le faut, le code INSEE du lieu de "
        "naissance (99xxx pour un pays étranger), et relancez la recherche."
    ),
    "identity.mismatch": (
        "Envoi refusé, identité incohérente : {clause}. "
        "Rien n'a été envoyé : vérifiez que le document concerne bien ce patient, "
        "ou corrigez ses traits d'identité."
    ),
    "identity.mismatch_more": (
        "Envoi refusé, identité incohérente : {clause} ({others} autre(s) trait(s) "
        "différent(s)). Rien n'a été envoyé : vérifiez que le document concerne bien ce "
        "patient, ou corrigez ses traits d'identité."
    ),
    "identity.no_reference": (
        "Le DMP ne donne pas l'identité de ce patient : ses traits ne peuvent pas être "
        "vérifiés, rien n'a été envoyé. Recherchez son INS avec le téléservice INSi."
    ),
    "identity.clause": "{trait} de {where} ne correspond pas à l'identité INS du patient",
    "identity.trait.INS": "l'INS",
    "identity.trait.birth_name": "le nom de naissance",
    "identity.trait.given_names": "le(s) prénom(s) de naissance",
    "identity.trait.birth_date": "la date de naissance",
    "identity.trait.sex": "le sexe",
    "identity.trait.birthplace": "le lieu de naissance",
    "identity.where.cda": "l'en-tête CDA du document (recordTarget)",
    "identity.where.xds": "les métadonnées XDS de l'envoi",
    "identity.where.form": "les traits saisis",
    "contact.mobile": (
        "Numéro de mobile invalide : saisissez un mobile français à 10 chiffres "
        "commençant par 06 ou 07 (par exemple 06 12 34 56 78)."
    ),
    "contact.phone": (
        "Numéro de téléphone invalide : saisissez 10 chiffres (par exemple 01 23 45 67 89)."
    ),
    "contact.email": (
        "Adresse électronique invalide : vérifiez-la (par exemple prenom.nom@exemple.fr)."
    ),
    "contact.postal_code": "Code postal invalide : saisissez 5 chiffres.",
    # --- CDA documents and the VSM ---
    "cda.error": "Erreur sur un document CDA.",
    "cda.summary_invalid": "Le document ne peut pas être généré :\n{problems}",
    "cda.problem": "{where} : {reason}.",
    "cda.problem_field": "{where} ({field}) : {reason}.",
    "cda.numbered": "{where} n° {number}",
    "cda.empty_payload": (
        "Le document à envoyer est vide : choisissez un fichier PDF ou saisissez un texte."
    ),
    "cda.format": "Ce document n'est pas un document CDA lisible ; il n'a pas été ouvert.",
    "cda.kit_missing": (
        "Le kit de validation CDA de l'ANS est introuvable (variable DMP_CDA_KIT)."
    ),
    "cda.validation_run": "La validation du document CDA n'a pas pu être exécutée.",
    "cda.reason.required": "est obligatoire",
    "cda.reason.empty": "ne peut pas être vide",
    "cda.reason.birthplace_required": (
        "le lieu de naissance (code INSEE de la commune, ou 99xxx pour un pays étranger) "
        "est obligatoire avec l'INS"
    ),
    "cda.reason.unknown_code": "n'est pas un code connu",
    "cda.reason.bad_format": "n'a pas le format attendu",
    "cda.reason.naive_time": "doit comporter le fuseau horaire",
    "cda.reason.resolution_needs_resolved": "une date de fin implique le statut « résolu »",
    "cda.reason.conflicts_with_allergies": (
        "« aucune allergie connue » alors que des allergies sont saisies"
    ),
    "cda.reason.code_not_found": (
        "le code {code} n'existe pas dans la liste {system} installée : "
        "choisissez le code dans la liste proposée ou retirez-le"
    ),
    "cda.reason.text_contradicts_code": (
        "le texte saisi ne correspond pas au code {code} (« {label} ») : "
        "choisissez le bon code dans la liste ou retirez le code"
    ),
    "cda.reason.label_not_official": (
        "ce libellé n'est pas celui du code {code} (« {label} ») : choisissez à nouveau le code"
    ),
    "cda.reason.name_contradicts_cis": (
        "le nom du médicament ne correspond pas au code CIS {code} (« {label} ») : "
        "choisissez le médicament dans la liste ou retirez le code"
    ),
    "cda.reason.cip_not_of_cis": (
        "la présentation CIP {code} n'est pas une présentation de ce médicament "
        "(elle appartient au CIS {cis})"
    ),
    "cda.reason.atc_not_of_cis": (
        "le code ATC {code} n'est pas celui de ce médicament ({expected} dans la base des "
        "médicaments)"
    ),
    "cda.reason.after_document": (
        "la date {date} est postérieure à la date de la synthèse : corrigez-la"
    ),
    "cda.reason.before_birth": "la date {date} est antérieure à la naissance du patient",
    "cda.reason.end_before_start": "la fin ({end}) précède le début ({start})",
    "cda.reason.birth_after_document": (
        "la date de naissance est postérieure à la date de la synthèse"
    ),
    "cda.reason.negative": "ne peut pas être négatif",
    "cda.reason.not_positive": "doit être supérieur à zéro",
    "cda.reason.unit_required": "l'unité est obligatoire avec une valeur",
    "cda.reason.unit_invalid": "« {unit} » n'est pas une unité UCUM valide",
    "cda.reason.unit_not_time": "« {unit} » n'est pas une unité de temps (h, d, wk, mo, a)",
    "cda.reason.unit_not_mass": "« {unit} » n'est pas une unité de poids (kg, g)",
    "cda.reason.unit_not_length": "« {unit} » n'est pas une unité de longueur (cm, m)",
    "cda.reason.dose_range": "la dose maximale est inférieure à la dose",
    "cda.reason.duration_and_end": (
        "donnez la durée ou la date de fin du traitement, pas les deux"
    ),
    "cda.reason.value_required": "indiquez le résultat (valeur ou texte)",
    "cda.path.patient": "Patient",
    "cda.path.author": "Auteur",
    "cda.path.treating_physician": "Médecin traitant",
    "cda.path.active_problems": "Pathologie en cours",
    "cda.path.medical_history": "Antécédent médical",
    "cda.path.surgical_history": "Antécédent chirurgical",
    "cda.path.allergies": "Allergie",
    "cda.path.lifestyle": "Mode de vie",
    "cda.path.occupational_risks": "Facteur de risque professionnel",
    "cda.path.family_history": "Antécédent familial",
    "cda.path.vigilance_points": "Point de vigilance",
    "cda.path.treatments": "Traitement",
    "cda.path.vaccinations": "Vaccination",
    "cda.path.vital_signs": "Mesure",
    "cda.path.functional_status": "Statut fonctionnel",
    "cda.path.results": "Résultat",
    "cda.path.care_plan": "Plan de soins",
    "cda.path.advance_directives": "Directive anticipée",
    "cda.path.trusted_person": "Personne de confiance",
    "cda.path.legal_representative": "Représentant légal",
    "cda.path.emergency_contact": "Personne à prévenir",
    "cda.path.no_known_allergies": "Allergies",
    "cda.path.effective_time": "Document",
    "cda.path.document_id": "Document",
    "cda.path.set_id": "Document",
    "cda.path.version": "Document",
    "cda.path.title": "Document",
    "cda.path.type_code": "Document",
    "cda.field.birth_family_name": "nom de naissance",
    "cda.field.birth_given_names": "prénoms de naissance",
    "cda.field.birthplace_code": "lieu de naissance",
    "cda.field.root": "identifiant local",
    "cda.field.extension": "identifiant local",
    "cda.field.national_id": "identifiant national",
    "cda.field.family_name": "nom",
    "cda.field.given_name": "prénom",
    "cda.field.id": "identifiant de la structure",
    "cda.field.name": "nom",
    "cda.field.facility_type": "type de structure",
    "cda.field.practice_setting": "cadre d'exercice",
    "cda.field.effective_time": "date",
    "cda.field.document_id": "identifiant du document",
    "cda.field.set_id": "identifiant du lot de versions",
    "cda.field.version": "version",
    "cda.field.title": "titre",
    "cda.field.label": "libellé",
    "cda.field.cim10": "code CIM-10",
    "cda.field.ccam": "code CCAM",
    "cda.field.resolution": "date de fin",
    "cda.field.agent": "agent",
    "cda.field.type_code": "type",
    "cda.field.agent_cis": "code CIS",
    "cda.field.agent_atc": "code ATC",
    "cda.field.cis": "code CIS",
    "cda.field.cip": "code CIP",
    "cda.field.atc": "code ATC",
    "cda.field.text": "texte",
    "cda.field.quantity": "quantité",
    "cda.field.unit": "unité",
    "cda.field.relationship": "lien de parenté",
    "cda.field.birth_date": "date de naissance",
    "cda.field.onset": "début",
    "cda.field.date": "date",
    "cda.field.start": "début",
    "cda.field.end": "fin",
    "cda.field.cim10_label": "libellé du code CIM-10",
    "cda.field.ccam_label": "libellé du code CCAM",
    "cda.field.reason": "motif",
    "cda.field.reason_cim10": "code CIM-10 du motif",
    "cda.field.reason_cim10_label": "libellé du motif",
    "cda.field.dose": "dose",
    "cda.field.dose_max": "dose maximale",
    "cda.field.dose_unit": "unité de dose",
    "cda.field.period": "fréquence",
    "cda.field.period_unit": "unité de la fréquence",
    "cda.field.route": "voie d'administration",
    "cda.field.duration": "durée",
    "cda.field.duration_unit": "unité de la durée",
    "cda.field.vaccine": "vaccin",
    "cda.field.code": "code",
    "cda.field.value": "valeur",
    "cda.field.loinc": "code LOINC",
    "cda.field.value_text": "résultat",
    # --- uploads and changes (alimentation) ---
    "feed.error": "L'envoi du document au DMP n'a pas abouti. Réessayez.",
    "upload.problem.unknown": "Le document ne peut pas être envoyé tel quel.",
    "upload.problem.ins_not_qualified": (
        "L'INS du patient n'est pas qualifié : renseignez ses traits d'identité (nom et prénoms "
        "de naissance, date et lieu de naissance, sexe) tels que le téléservice INSi les a "
        "retournés. Aucun document ne peut être envoyé au DMP sans INS qualifié."
    ),
    "upload.problem.identity_mismatch": (
        "Les traits d'identité renseignés concernent un autre INS que celui du patient : "
        "vérifiez le patient avant d'envoyer."
    ),
    "upload.problem.birthplace_missing": (
        "Le lieu de naissance du patient (code INSEE de la commune, 99xxx à l'étranger) manque : "
        "il fait partie des traits de l'INS qualifié."
    ),
    "upload.problem.empty_file": (
        "Le fichier est vide : choisissez le bon fichier. Rien n'a été envoyé."
    ),
    "upload.problem.blank_text": "Le texte est vide : rien n'a été envoyé.",
    "upload.problem.file_too_large": (
        "Le fichier dépasse la taille maximale acceptée (20 Mo). Réduisez-le (PDF compressé, "
        "image moins définie) puis recommencez."
    ),
    "upload.problem.unsupported_format": (
        "Format de fichier non pris en charge : envoyez un PDF, une image JPEG, PNG ou TIFF, "
        "ou un texte."
    ),
    "upload.problem.media_type_mismatch": (
        "Le contenu du fichier ne correspond pas à son type annoncé : vérifiez le fichier."
    ),
    "upload.problem.corrupt_image": (
        "L'image est illisible ou endommagée : ouvrez-la pour vérifier, puis réessayez."
    ),
    "upload.problem.image_too_large": (
        "L'image est trop grande pour être convertie en PDF : réduisez sa définition."
    ),
    "upload.problem.not_pdf": "Ce fichier n'est pas un PDF valide.",
    "upload.problem.unreadable_text": (
        "Le texte n'est pas lisible (encodage inconnu ou fichier binaire) : enregistrez-le en "
        "UTF-8 puis réessayez."
    ),
    "upload.problem.unknown_type": (
        "Type de document inconnu : choisissez un type de la liste des types du DMP (jeu de "
        "valeurs J07)."
    ),
    "upload.problem.type_not_for_professionals": (
        "Ce type de document est réservé aux documents déposés par le patient ou par "
        "l'Assurance Maladie : choisissez un autre type."
    ),
    "upload.problem.title_missing": "Donnez un titre au document.",
    "upload.problem.title_too_long": "Le titre est trop long (255 caractères au plus).",
    "upload.problem.date_in_future": "La date de l'acte ne peut pas être dans le futur.",
    "upload.problem.date_too_old": "La date de l'acte est antérieure à 1900 : vérifiez-la.",
    "upload.problem.forbidden_visibility": (
        "Un document ne peut pas être à la fois masqué aux professionnels de santé et invisible "
        "pour le patient : le DMP refuse cette combinaison. Changez l'un des deux choix."
    ),
    "upload.problem.replaced_not_approved": (
        "Seul un document actif peut être remplacé : celui-ci est archivé, remplacé ou supprimé."
    ),
    "upload.problem.replaced_other_patient": (
        "Le document à remplacer appartient au DMP d'un autre patient."
    ),
    "upload.problem.replaced_not_mine": (
        "Vous ne pouvez remplacer que les documents dont vous êtes l'auteur."
    ),
    "upload.problem.not_a_vsm": (
        "Ce document CDA n'est pas une synthèse médicale (VSM) : il n'a pas été envoyé."
    ),
    "upload.problem.on_behalf_of_missing": (
        "Un secrétariat envoie un document pour le compte d'un professionnel du cabinet : "
        "choisissez ce professionnel (« Pour le compte de ») avant d'envoyer."
    ),
    "upload.problem.on_behalf_of_staff": (
        "L'auteur d'un document doit être un professionnel de santé, pas un secrétariat : "
        "choisissez un professionnel du cabinet."
    ),
    "upload.problem.on_behalf_of_not_staff": (
        "Avec votre carte de professionnel, vous envoyez vos propres documents : seul un "
        "secrétariat envoie pour le compte d'un autre professionnel."
    ),
    "feed.action.delete": "supprimer ce document",
    "feed.action.replace": "remplacer ce document",
    "feed.action.archive": "archiver ce document",
    "feed.action.unarchive": "désarchiver ce document",
    "feed.action.update": "modifier ce document",
    "feed.action.unknown": "faire cette opération",
    "feed.status.approved": "actif",
    "feed.status.deprecated": "remplacé",
    "feed.status.archived": "archivé",
    "feed.status.deleted": "supprimé",
    "feed.status.unknown": "dans un état qui ne le permet pas",
    "feed.not_author": (
        "Seul l'auteur du document peut {action}. Rien n'a été modifié ; "
        "demandez à l'auteur de le faire."
    ),
    "feed.status_forbids": (
        "Impossible de {action} : il est {status}. Actualisez la liste des documents "
        "pour voir son état actuel."
    ),
    "feed.patient_objection": (
        "Le patient s'est opposé à l'envoi de ce document au DMP : il ne sera pas envoyé."
    ),
    "feed.outbox_item_gone": (
        "Ce document n'est plus dans la boîte d'envoi : il a déjà été confirmé ou retiré "
        "(depuis une autre fenêtre ?). Actualisez la boîte d'envoi."
    ),
    "feed.on_behalf.blocked": "le patient a interdit l'accès à son DMP à {author}",
    "feed.on_behalf.not_authorised": (
        "{author} n'est pas autorisé par le patient à accéder à son DMP (ou "
        "n'exerce pas dans votre structure)"
    ),
    "feed.on_behalf_refused": (
        "Le DMP a refusé le document : {why}. Un secrétariat ne peut envoyer que pour "
        "un professionnel du cabinet que le patient a autorisé. Le document reste dans la "
        "boîte d'envoi : faites enregistrer l'autorisation du patient puis réessayez, ou "
        "retirez-le et envoyez-le pour le compte d'un autre professionnel."
    ),
    "feed.to_sign.awaited": (
        "Cet envoi, préparé par le secrétariat, attend la signature de {signer} : il partira "
        "une fois signé avec sa carte CPS (« dmp outbox --sign » ou la fenêtre, carte de "
        "{signer} dans le lecteur)."
    ),
    "feed.to_sign.not_signer": (
        "Seul {signer} peut signer cet envoi préparé pour son compte, avec sa propre carte "
        "CPS : rien n'a été signé."
    ),
    "feed.unconfirmed": (
        "L'envoi au DMP n'a pas pu être confirmé (la connexion a été interrompue pendant "
        "l'envoi). Le document reste dans la boîte d'envoi : à la reprise, le logiciel "
        "vérifiera d'abord s'il est déjà dans le DMP, pour ne jamais l'envoyer deux fois."
    ),
    # --- the use cases' rules (dmp_desktop.usecases) ---
    "usecase.refused": "Cette action n'est pas possible pour ce dossier.",
    "usecase.consent.access": (
        "Rien n'a été enregistré : confirmez d'abord que le patient consent à ce que vous "
        "accédiez à son DMP."
    ),
    "usecase.consent.creation": (
        "Recueillez d'abord le consentement du patient à la création de son DMP : rien n'a "
        "été envoyé."
    ),
    "usecase.consent.legal_representative": (
        "Patient mineur : recueillez le consentement de son représentant légal (nom, prénom "
        "et accord) : rien n'a été envoyé."
    ),
    "usecase.emergency.purpose": (
        "Choisissez le mode d'accès en urgence : bris de glace ou centre 15."
    ),
    "usecase.emergency.reason_missing": (
        "Un accès en urgence exige son motif (au moins {min} caractères) : il est transmis "
        "au DMP, tracé et communiqué au patient."
    ),
    "usecase.emergency.reason_too_short": (
        "Le motif de l'accès en urgence est trop court : au moins {min} caractères. Il est "
        "tracé et communiqué au patient."
    ),
    "usecase.emergency.reason_too_long": (
        "Le motif de l'accès en urgence ne peut pas dépasser {max} caractères."
    ),
    "usecase.emergency.reason_without_emergency": (
        "Un motif ne s'indique que pour un accès en urgence."
    ),
    "usecase.emergency.not_possible": "L'accès en urgence n'est pas possible pour ce dossier.",
    "usecase.emergency.no_dmp": "Ce patient n'a pas de DMP : il n'y a rien à consulter.",
    "usecase.emergency.closed": (
        "Le DMP de ce patient est fermé : il ne peut pas être consulté, même en urgence."
    ),
    "usecase.emergency.staff": (
        "Une carte de secrétariat ne consulte pas le DMP, même en urgence."
    ),
    "usecase.emergency.blocked": (
        "Le patient vous a bloqué : l'accès à son DMP vous est refusé, même en urgence."
    ),
    "usecase.emergency.not_needed": (
        "Vous êtes autorisé(e) à accéder à ce DMP : l'accès en urgence n'est pas nécessaire "
        "(il serait tracé et signalé au patient)."
    ),
    "usecase.upload.no_card": (
        "Connectez-vous avec votre carte CPS pour envoyer un document au DMP."
    ),
    "usecase.upload.no_status": (
        "Vérifiez d'abord le DMP du patient (Ctrl+L, INS, Entrée) : le document est "
        "envoyé au patient affiché."
    ),
    "usecase.upload.no_dmp": "Ce patient n'a pas de DMP : aucun document ne peut y être envoyé.",
    "usecase.upload.closed": "Le DMP de ce patient est fermé : il n'accepte plus de documents.",
    "usecase.upload.blocked": (
        "Le patient vous a bloqué : vous ne pouvez pas envoyer de document dans son DMP."
    ),
    "usecase.upload.no_authorisation": (
        "Pour envoyer un document, il faut l'autorisation d'accès du patient : répondez "
        "d'abord à la question du consentement."
    ),
    "usecase.objection": (
        "Le patient s'est opposé à l'envoi de ce document au DMP (opposition enregistrée le "
        "{date}) : il ne sera pas envoyé."
    ),
    "usecase.outbox.not_yours": (
        "Cet envoi en attente a été préparé avec la carte d'un autre professionnel : seul "
        "son auteur peut le voir, l'envoyer ou y renoncer."
    ),
    "usecase.document_not_found": (
        "Aucun document de ce DMP ne porte cet identifiant, ou il ne vous est pas "
        "accessible. Vérifiez l'identifiant dans la liste des documents."
    ),
    "usecase.invalid_type_filter": "Code de type de document invalide : « {value} ».",
    "usecase.no_dmp": "Ce patient n'a pas de DMP.",
    "usecase.secret.no_card": "Connectez-vous avec votre carte CPS.",
    "usecase.secret.no_status": (
        "Le DMP du patient n'a pas pu être vérifié : la connexion secrète n'est pas déclarée."
    ),
    "usecase.secret.no_dmp": "Ce patient n'a pas de DMP : pas de connexion secrète possible.",
    "usecase.secret.staff": (
        "La connexion secrète d'un patient mineur est réservée aux professionnels de santé."
    ),
    "usecase.secret.blocked": ("Le patient vous a bloqué : vous ne pouvez pas agir sur son DMP."),
    "usecase.secret.closed": (
        "Le DMP de ce patient est fermé : pas de connexion secrète possible."
    ),
    "usecase.secret.not_minor": (
        "La connexion secrète est réservée au DMP d'un patient mineur, à sa demande : ce "
        "patient n'est pas mineur. Rien n'a été envoyé."
    ),
    "usecase.closure.kind": (
        "Choisissez le motif de la fermeture : demande du patient, décès ou autre."
    ),
    "usecase.closure.too_short": (
        "Le motif de la fermeture est obligatoire ({min} caractères au moins) : rien n'a "
        "été envoyé."
    ),
    "usecase.closure.too_long": ("Le motif de la fermeture ne peut pas dépasser {max} caractères."),
    "usecase.summary_other_patient": (
        "La synthèse concerne un autre patient que celui indiqué (INS différent) : rien "
        "n'a été envoyé."
    ),
    # --- terminologies ---
    "terminology.import.missing": (
        "Le fichier {name} est introuvable. Choisissez le fichier téléchargé (ATIH : "
        "LIBCIM10MULTI.TXT ; ANSM : dossier contenant CIS_bdpm.txt)."
    ),
    "terminology.import.unreadable": "Le fichier {name} n'a pas pu être lu ; rien n'a été modifié.",
    "terminology.import.unrecognised": (
        "Ce fichier ne ressemble pas à la liste attendue ; rien n'a été modifié. "
        "Vérifiez que c'est le bon fichier."
    ),
    "terminology.import.cancelled": "Import annulé ; la liste précédente est conservée.",
    "terminology.index.corrupt": (
        "La base des terminologies est endommagée. Supprimez le fichier terminology.sqlite "
        "du dossier de données : il sera recréé ; réimportez ensuite vos fichiers."
    ),
    "terminology.index.newer-schema": (
        "La base des terminologies a été créée par une version plus récente du logiciel. "
        "Mettez DMP Desktop à jour."
    ),
    "terminology.index.unwritable": (
        "Impossible d'écrire la base des terminologies dans le dossier de l'application. "
        "Vérifiez les droits sur ce dossier."
    ),
    "terminology.index.closed": (
        "La base des terminologies est fermée. Rouvrez la synthèse médicale."
    ),
}

CATALOGUE: Mapping[str, str] = MappingProxyType(_CATALOGUE)


def known(message_id: str) -> bool:
    return message_id in CATALOGUE


def coded(family: str, key: str, fallback: str, **params: Any) -> Msg:
    """``<family>.<key>`` when the catalogue has it, else ``fallback`` (same fields)."""
    wanted = f"{family}.{key}"
    return msg(wanted if wanted in CATALOGUE else fallback, **params)


__all__ = [
    "CATALOGUE",
    "CONTEXT",
    "Msg",
    "coded",
    "fields_of",
    "known",
    "msg",
    "render",
    "set_translator",
    "text",
]
