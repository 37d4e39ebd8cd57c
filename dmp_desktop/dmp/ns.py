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
