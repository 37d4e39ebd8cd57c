"""The DMP wire: SOAP 1.2 / WS-Addressing, VIHF, HL7v3 patient services, XDS.b."""
