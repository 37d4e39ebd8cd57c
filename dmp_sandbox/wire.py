"""The training host's own names for the DMP wire: namespaces, SOAP actions, OIDs.

Deliberately written here rather than imported from the client
(``dmp_desktop.dmp``): the host is a judge, and a wrong constant in the
client must not be confirmed by the host reading the same constant. Each
value comes from the official material under ``../shared/reference-data``:
the DMP annex WSDLs (``xds-schemas/dmp-annexe-wsdl-schema/wsdl``), the IHE
ITI WSDLs, and the CNAM's example messages (``dmp-messages``).
"""

from __future__ import annotations

# --- namespaces (W3C, OASIS, HL7, IHE: the schemas' targetNamespace) -------------------
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XOP = "http://www.w3.org/2004/08/xop/include"
HL7 = "urn:hl7-org:v3"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
# Habilitations.wsdl and PatientsSpecific.wsdl targetNamespace.
HABILITATIONS_NS = "urn:si-dmp-habilitations"
PATIENTS_NS = "urn:si-dmp-patients"
# GestionDossierPatientPartage.wsdl (declared on the official HL7v3 answers).
GDP_NS = "asip:ci-sis:gdp:2010"

# --- media types (SOAP 1.2 HTTP binding, XOP/MTOM) -------------------------------------
SOAP12_CONTENT_TYPE = "application/soap+xml"
MULTIPART_RELATED = "multipart/related"
XOP_CONTENT_TYPE = "application/xop+xml"

# --- SOAP actions (wsaw:Action / soapAction of the WSDLs) ------------------------------
ACTION_TD02 = "urn:hl7-org:v3:PRPA_IN201307UV02"  # GestionDossierPatientPartage.wsdl
ACTION_TD02_RESPONSE = "urn:hl7-org:v3:PRPA_IN201308UV02"
ACTION_ITI18 = "urn:ihe:iti:2007:RegistryStoredQuery"  # XDS.b_DocumentRegistry.wsdl
ACTION_ITI18_RESPONSE = "urn:ihe:iti:2007:RegistryStoredQueryResponse"
ACTION_ITI41 = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"  # XDS.b_DocumentRepository
ACTION_ITI41_RESPONSE = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
ACTION_ITI43 = "urn:ihe:iti:2007:RetrieveDocumentSet"
ACTION_ITI43_RESPONSE = "urn:ihe:iti:2007:RetrieveDocumentSetResponse"
ACTION_ITI57 = "urn:ihe:iti:2010:UpdateDocumentSet"  # XDS.b_DocumentRegistry.wsdl
ACTION_ITI57_RESPONSE = "urn:ihe:iti:2010:UpdateDocumentSet-Response"
WSA_ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
WSA_FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"

# --- SAML 2.0 / VIHF (the CNAM's "Exemples Jeton VIHF") ---------------------------------
AC_SMARTCARD_PKI = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"
AUTH_MODE_DIRECT = "DIRECTE"
AUTH_MODE_INDIRECT = "INDIRECTE"
AUTH_MODE_INDIRECT_STRONG = "INDIRECTE_RENFORCEE"
ATTR_ROLE = "urn:oasis:names:tc:xacml:2.0:subject:role"
ATTR_PURPOSE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
ATTR_RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
ATTR_SUBJECT_ID = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
ATTR_STRUCTURE = "Identifiant_Structure"
ATTR_SECTOR = "Secteur_Activite"
ATTR_AUTH_MODE = "Authentification_mode"  # spelt so in the official tokens
ATTR_VERSION = "VIHF_Version"
ATTR_RESOURCE_URN = "Ressource_URN"
ATTR_EMERGENCY_REASON = "Motif_Acces_Urgence"  # training convention (docs/wire-conventions.md)

# --- OIDs (dmp-wire.md, the official examples) ------------------------------------------
OID_PROFESSION = "1.2.250.1.71.1.2.7"  # TRE_G15 ProfessionSante (VIHF Role)
OID_SPECIALTY = "1.2.250.1.71.4.2.5"  # TRE_R01 / R38 specialties (VIHF Role)
OID_NON_PS_ROLE = "1.2.250.1.213.1.1.4.6"  # SECRETARIAT_MEDICAL, ALIM_AM, ...
OID_PURPOSE_OF_USE = "1.2.250.1.213.1.1.4.248"
OID_CONFIDENTIALITY = "1.2.250.1.213.1.1.4.13"
OID_PS_ID = "1.2.250.1.71.4.2.1"
OID_STRUCTURE_ID = "1.2.250.1.71.4.2.2"
OID_DMP_ID = "1.2.250.1.213.1.4.2"
OID_DMP_DEVICE = "1.2.250.1.213.4.1.1.1"
OID_TD_REASON = "1.2.250.1.213.1.1.4.11"
OID_HL7_INTERACTION = "2.16.840.1.113883.1.6"

# Confidentiality codes (J58, 1.2.250.1.213.1.1.4.13 and HL7 2.16.840.1.113883.5.25).
MASKED_PS = "MASQUE_PS"
INVISIBLE_PATIENT = "INVISIBLE_PATIENT"
INVISIBLE_LEGAL_REPS = "INVISIBLE_REPRESENTANTS_LEGAUX"

# Access modes (PurposeOfUse, 1.2.250.1.213.1.1.4.248).
PURPOSE_NORMAL = "normal"
PURPOSE_BREAK_GLASS = "bris_de_glace"
PURPOSE_CENTRE_15 = "centre_15"
