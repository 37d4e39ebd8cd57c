"""The host's names for the HL7v3 and proprietary DMP transactions, and its HL7v3 helpers.

Deliberately the host's own (see :mod:`dmp_sandbox.wire`): each value is
read from the DMP annex (``GestionDossierPatientPartage.wsdl``,
``Habilitations.wsdl``, ``PatientsSpecific.wsdl``, the NE2009 schemas) or
from the CNAM's example messages (``dmp-messages``), never imported from the
client. The TD classes are plain namespaces (``td11.ACTION_CREATE``).
"""

from __future__ import annotations

from lxml import etree

from dmp_desktop.domain.admin_data import OTP_EMAIL, OTP_SMS, PostalAddress, check_email
from dmp_desktop.domain.admin_data import check_mobile as _check_mobile
from dmp_sandbox import wire

OID_CONSENT = "1.2.250.1.213.4.1.2.3"  # administrativeObservation codes (TD1.1, TD1.3)
OID_CLOSURE_REASON = "1.2.250.1.213.4.1.2.4"  # FERMETURE_DEMANDE_PATIENT… (TD1.4)
OID_RELATIONSHIP = "2.16.840.1.113883.1.11.19579"  # HL7 PersonalRelationshipRoleType
OBS_CONSENT = "CONSENTEMENT_OUVERTURE_DMP"
OBS_OPPOSITION_BRIS_DE_GLACE = "OPPOSITION_BRIS_DE_GLACE"
OBS_OPPOSITION_CENTRE_15 = "OPPOSITION_ACCES_URGENCE"
OBS_LABELS = {  # displayName, as the official TD1.3a answer writes them
    OBS_OPPOSITION_BRIS_DE_GLACE: "opposition au mode bris de glace",
    OBS_OPPOSITION_CENTRE_15: "opposition à l'accès au mode urgence",
}
DMP_DEVICE_NAME = "DMP"  # receiver/device/softwareName of the official requests
USE_MOBILE, USE_HOME = "MC", "HP"  # telecom/@use (TD1.3 official answer)
MAX_TEXT = 255


class td02:
    """TD0.2, test of existence (official TD0.2 request and answer)."""

    INTERACTION_REQUEST = "PRPA_IN201307UV02"
    INTERACTION_RESPONSE = "PRPA_IN201308UV02"
    REASON_TEST_EXISTENCE = "TEST_EXST"
    REASON_TEST_EXISTENCE_LABEL = "Test d'existence de dossier"
    DMP_DEVICE_NAME = DMP_DEVICE_NAME
    KEYWORD_AUTHORIZATION = "AUTORISATION"
    OID_AUTHORIZATION_KEYWORD = "1.2.250.1.213.4.1.2.6.1"
    OID_AUTHORIZATION_VALUE = "1.2.250.1.213.4.1.2.6.2"
    KEYWORD_TREATING_PHYSICIAN = "STATUT_MT"
    OID_STATUS_KEYWORD = "1.2.250.1.213.4.1.2.6.3"
    KEYWORD_MINOR = "PATIENT_MINEUR"
    KEYWORD_SECRET_CONNECTION = "CONNEXION_SECRETE"  # noqa: S105 - not a secret
    QUERY_FOUND = "OK"
    QUERY_NOT_FOUND = "NF"
    STATUS_ACTIVE = "active"
    STATUS_CLOSED = "terminated"
    OID_CLOSURE_REASON = OID_CLOSURE_REASON


class td11:
    """TD1.1, creation (GestionDossierPatientPartage.wsdl, PRPA_IN201311UV02)."""

    GDP_NS = wire.GDP_NS
    INTERACTION_REQUEST = "PRPA_IN201311UV02"
    INTERACTION_ACCEPTED = "PRPA_IN201312UV02"
    INTERACTION_REFUSED = "PRPA_IN201313UV02"
    ACTION_CREATE = "urn:hl7-org:v3:PRPA_IN201311UV02"
    ACTION_CREATE_RESPONSE = "urn:hl7-org:v3:PRPA_IN201311ResponseUV02"
    RESPONSE_WRAPPER = "PRPA_IN201311UV02_Response"
    REASON_CREATE = "CREA_RD"
    REASON_CREATE_LABEL = "Création de dossier"
    OBS_CONSENT = OBS_CONSENT
    OBS_OPPOSITION_BRIS_DE_GLACE = OBS_OPPOSITION_BRIS_DE_GLACE
    OBS_OPPOSITION_CENTRE_15 = OBS_OPPOSITION_CENTRE_15
    DMP_DEVICE_NAME = DMP_DEVICE_NAME


class td12_14:
    """TD1.2 / TD1.3b / TD1.4 (PRPA_IN201314UV02, official TD1.4 request and answer)."""

    INTERACTION_REQUEST = "PRPA_IN201314UV02"
    INTERACTION_ACCEPTED = "PRPA_IN201315UV02"
    INTERACTION_REFUSED = "PRPA_IN201316UV02"
    ACTION_REVISE = "urn:hl7-org:v3:PRPA_IN201314UV02"
    ACTION_REVISE_RESPONSE = "urn:hl7-org:v3:PRPA_IN201314ResponseUV02"
    RESPONSE_WRAPPER = "PRPA_IN201314UV02_Response"
    REASON_CLOSE = "FERM"
    REASON_CLOSE_LABEL = "Fermeture de dossier"
    REASON_REACTIVATE = "REAC"
    REASON_REACTIVATE_LABEL = "Réactivation de dossier"


class td13:
    """TD1.3a / TD1.3b (official TD1.3a and TD1.3b messages)."""

    READ_RESPONSE = "PRPA_IN201308UV02"
    REASON_READ = "CNSLT_DATA"
    REASON_READ_LABEL = "Consultation des données de gestion de dossier"
    REASON_UPDATE = "MODIF_DATA"
    REASON_UPDATE_LABEL = "Modification des données de gestion du dossier"
    OID_RELATIONSHIP = OID_RELATIONSHIP
    QUERY_FOUND = "OK"
    QUERY_NOT_FOUND = "NF"


class td15:
    """TD1.5 (official TD1.5a/b/d requests; PatientsSpecific.wsdl keeps their types)."""

    PATIENTS_NS = wire.PATIENTS_NS
    _ENDPOINT = "urn:si-dmp-patients:PatientSpecificEndPoint"
    ACTION_CREATE = f"{_ENDPOINT}:createPatientAccess"
    ACTION_CREATE_RESPONSE = f"{ACTION_CREATE}Response"
    ACTION_OTP = f"{_ENDPOINT}:patientOTPUpdate"
    ACTION_OTP_RESPONSE = f"{ACTION_OTP}Response"
    ACTION_UPDATE = f"{_ENDPOINT}:updatePatientAccess"
    ACTION_UPDATE_RESPONSE = f"{ACTION_UPDATE}Response"
    CHANNEL_TYPES = (OTP_SMS, OTP_EMAIL)  # otpChannelTypeEnum
    OTP_ADD, OTP_MODIFY, OTP_REMOVE = "AJOUT", "MODIFICATION", "SUPPRESSION"  # actionTypeEnum
    OTP_ACTIONS = (OTP_ADD, OTP_MODIFY, OTP_REMOVE)

    @staticmethod
    def check_channel(channel_type: str, value: str) -> str:
        """The channel normalised: a French mobile for SMS, an e-mail address for EMAIL."""
        if channel_type == OTP_SMS:
            return _check_mobile(value)
        return check_email(value)


class td16:
    """TD1.6 listAuthorizationByPatient (Habilitations.wsdl)."""

    HABILITATIONS = wire.HABILITATIONS_NS
    ACTION_LIST = "urn:si-dmp-habilitations:HabilitationsEndPoint:listAuthorizationByPatient"
    ACTION_LIST_RESPONSE = f"{ACTION_LIST}Response"
    MODE_ACTIVE, MODE_BLOCKED, MODE_ALL = "ACTIVE", "INTERDITE", "TOUTE"  # modeType
    MODES = (MODE_ACTIVE, MODE_BLOCKED, MODE_ALL)
    RIGHT_TREATING_PHYSICIAN = "MEDECIN_TRAITANT"  # roleType


class td16_block:
    """Training extension: the médecin traitant blocks a professional (wire-conventions)."""

    TRAINING_NS = "urn:dmp-formation:habilitations"
    OP_BLOCK, OP_UNBLOCK = "blockProfessional", "unblockProfessional"
    ACTION_BLOCK = f"{TRAINING_NS}:{OP_BLOCK}"
    ACTION_UNBLOCK = f"{TRAINING_NS}:{OP_UNBLOCK}"
    TREATING_PHYSICIAN_PROTECTED = "DMPTreatingPhysicianProtected"


# --- reading and writing patientPerson parts (TD1.3) ------------------------------------


def _h(local: str) -> str:
    return f"{{{wire.HL7}}}{local}"


def _clean(value: str | None) -> str:
    return (value or "").strip()[:MAX_TEXT]


def read_address(addr: etree._Element | None) -> PostalAddress:
    """An HL7 ``addr``: street lines (and additionalLocator), postal code, city, country."""
    if addr is None:
        return PostalAddress()
    lines = tuple(
        _clean(el.text)
        for el in addr
        if el.tag in (_h("streetAddressLine"), _h("additionalLocator")) and _clean(el.text)
    )
    return PostalAddress(
        lines=lines[:4],
        postal_code=_clean(addr.findtext(_h("postalCode"))),
        city=_clean(addr.findtext(_h("city"))),
        country=_clean(addr.findtext(_h("country"))),
    )


def read_telecoms(holder: etree._Element | None) -> tuple[str | None, str | None, str | None]:
    """(home phone, mobile, e-mail): the first ``telecom`` of each kind.

    A ``tel:`` without ``use`` is a mobile when it starts with 06 or 07 (the
    official TD1.3b request writes its numbers so).
    """
    home = mobile = email = None
    if holder is None:
        return home, mobile, email
    for telecom in holder.iterfind(_h("telecom")):
        value = _clean(telecom.get("value"))
        uses = set((telecom.get("use") or "").split())
        if value.lower().startswith("mailto:"):
            email = email or value[7:].strip() or None
        elif value.lower().startswith("tel:"):
            number = value[4:].strip() or None
            if USE_MOBILE in uses or (not uses and (number or "").startswith(("06", "07"))):
                mobile = mobile or number
            else:
                home = home or number
    return home, mobile, email


def _sub(parent: etree._Element, local: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, _h(local), attributes)


def write_telecoms(
    holder: etree._Element, home: str | None, mobile: str | None, email: str | None
) -> None:
    if home:
        _sub(holder, "telecom", value=f"tel:{home}", use=USE_HOME)
    if mobile:
        _sub(holder, "telecom", value=f"tel:{mobile}", use=USE_MOBILE)
    if email:
        _sub(holder, "telecom", value=f"mailto:{email}")


def write_address(holder: etree._Element, address: PostalAddress) -> None:
    if address.empty:
        return
    addr = _sub(holder, "addr")
    for line in address.lines:
        if line.strip():
            _sub(addr, "streetAddressLine").text = line.strip()[:MAX_TEXT]
    for local, value in (
        ("postalCode", address.postal_code),
        ("city", address.city),
        ("country", address.country),
    ):
        if value:
            _sub(addr, local).text = value[:MAX_TEXT]


def write_observation(patient: etree._Element, code: str, flag: bool) -> None:
    """``subjectOf/administrativeObservation`` with a BL value (official TD1.3a answer)."""
    obs = _sub(
        _sub(patient, "subjectOf", typeCode="SBJ"),
        "administrativeObservation",
        classCode="OBS",
        moodCode="EVN",
    )
    _sub(obs, "code", code=code, codeSystem=OID_CONSENT, displayName=OBS_LABELS[code])
    value = _sub(obs, "value", value="true" if flag else "false")
    value.set(f"{{{wire.XSI}}}type", "BL")
