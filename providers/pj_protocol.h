/*
 * pj_protocol.h — names of the Poder Judicial's internal criminal-record protocol (v1), shared
 * by the simulator and the adapter so both sides of the translation agree on one spelling.
 * See README.md.
 */
#ifndef PIDE_PJ_PROTOCOL_H
#define PIDE_PJ_PROTOCOL_H

#define PJ_NS            "urn:pj:antecedentes:interno:v1"
#define PJ_PATH          "/pj/antecedentes/v1"
/* SOAP 1.2 carries the action as a parameter of the Content-Type, not in a SOAPAction header. */
#define PJ_ACTION        "urn:pj:antecedentes:interno:v1#ConsultaAntecedentes"
#define PJ_CONTENT_TYPE  "application/soap+xml; charset=utf-8; action=\"" PJ_ACTION "\""

#endif
