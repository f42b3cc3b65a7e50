/*
 * namespaces.h — every XML namespace and URI the daemon speaks, in one place: SOAP 1.1 and 1.2,
 * WS-Addressing 1.0, WS-Security 1.0 and its X.509
 * token profile, the gateway's own namespaces (header, metaservices, configuration) and the
 * digest algorithm URI of the request hash. Only macros: any module may include it.
 */
#ifndef PIDE_GW_NAMESPACES_H
#define PIDE_GW_NAMESPACES_H

/* SOAP: both versions are served; gateway/soap_version.c decides which an exchange speaks */
#define GW_SOAP11_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define GW_SOAP12_NS "http://www.w3.org/2003/05/soap-envelope"

/* WS-Security 1.0 (OASIS 2004) */
#define GW_WSSE_NS \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define GW_WSU_NS \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define GW_WSS_X509V3_VALUE_TYPE \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
#define GW_WSS_BASE64_ENCODING_TYPE \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0" \
    "#Base64Binary"

/* WS-Addressing 1.0 (W3C 2005/08) */
#define GW_WSA_NS "http://www.w3.org/2005/08/addressing"
#define GW_WSA_ANONYMOUS GW_WSA_NS "/anonymous"
#define GW_WSA_NONE GW_WSA_NS "/none"
#define GW_WSA_FAULT_ACTION GW_WSA_NS "/soap/fault"

/* XML Encryption's SHA-256 identifier, used as the requestHash algorithm */
#define GW_XMLENC_SHA256 "http://www.w3.org/2001/04/xmlenc#sha256"

/* pide-gateway's own */
/* WSDL 1.1 (service descriptions: gateway/service_page.c) */
#define GW_WSDL_NS "http://schemas.xmlsoap.org/wsdl/"

#define GW_HEADER_NS "urn:pide-gateway:header:1"
#define GW_META_NS "urn:pide-gateway:meta:1"
#define GW_AUDIT_NS "urn:pide-gateway:audit:1"
#define GW_CONFIG_NS "urn:pide-gateway:config:1"

/* XML Schema (the REST face reads the services' XSDs: gateway/rest_schema.c) */
#define GW_XSD_NS "http://www.w3.org/2001/XMLSchema"

#endif
