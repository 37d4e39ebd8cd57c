"""XML namespaces and OIDs of the DMP wire (dmp-wire.md)."""

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"
HL7 = "urn:hl7-org:v3"
DS = "http://www.w3.org/2000/09/xmldsig#"

SOAP12_CONTENT_TYPE = "application/soap+xml"

# OIDs
OID_DMP_DEVICE = "1.2.250.1.213.4.1.1.1"
OID_TD_REASON = "1.2.250.1.213.1.1.4.11"
OID_AUTH_KEYWORD = "1.2.250.1.213.4.1.2.6.1"
OID_AUTH_VALUE = "1.2.250.1.213.4.1.2.6.2"
OID_MT_KEYWORD = "1.2.250.1.213.4.1.2.6.3"
OID_PURPOSE_OF_USE = "1.2.250.1.213.1.1.4.248"
OID_ACTIVITY_SECTOR = "1.2.250.1.71.4.2.4"
OID_PS_ID = "1.2.250.1.71.4.2.1"
OID_STRUCTURE_ID = "1.2.250.1.71.4.2.2"
OID_DMP_ID = "1.2.250.1.213.1.4.2"

ACTION_TD02 = "urn:hl7-org:v3:PRPA_IN201307UV02"
ACTION_TD02_RESPONSE = "urn:hl7-org:v3:PRPA_IN201308UV02"

# --- added for the SOAP / VIHF / TD0.2 layer ------------------------------
XOP = "http://www.w3.org/2004/08/xop/include"
WSA_ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
SOAP12_FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"

# SAML 2.0 values used by the VIHF
SAML_X509_SUBJECT_NAME = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"
AC_SMARTCARD_PKI = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"
AC_TLS_CLIENT = "urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient"
AC_PASSWORD = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"  # noqa: S105 - a class name

# HL7v3
OID_HL7_INTERACTION = "2.16.840.1.113883.1.6"
OID_PROFESSION = "1.2.250.1.71.1.2.7"  # TRE_G15 ProfessionSante
OID_SPECIALTY = "1.2.250.1.71.4.2.5"  # TRE_R01 specialties
OID_NON_PS_ROLE = "1.2.250.1.213.1.1.4.6"  # SECRETARIAT_MEDICAL, AUTOMATE...
OID_CONFIDENTIALITY = "1.2.250.1.213.1.1.4.13"
OID_CONSENT_OBSERVATION = "1.2.250.1.213.4.1.2.3"
OID_ACCOUNT_OBSERVATION = "1.2.250.1.213.4.1.2.9"
OID_CLOSURE_REASON = "1.2.250.1.213.4.1.2.4"
