/*
 * reniec_protocol.h — names of RENIEC's internal padrón protocol (v2), shared by the simulator
 * and the adapter so both sides of the translation agree on one spelling. See README.md.
 */
#ifndef PIDE_RENIEC_PROTOCOL_H
#define PIDE_RENIEC_PROTOCOL_H

#define RENIEC_NS            "urn:reniec:padron:interno:v2"
#define RENIEC_PATH          "/padron/v2/ciudadano"
#define RENIEC_SOAP_ACTION   "urn:reniec:padron:interno:v2#ConsultarCiudadano"

#endif
