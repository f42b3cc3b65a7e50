/*
 * migraciones_protocol.h — names of Migraciones' internal REST/JSON card register protocol
 * (v1), shared by the simulator and the adapter so both sides agree on one spelling.
 * See README.md.
 */
#ifndef PIDE_MIGRACIONES_PROTOCOL_H
#define PIDE_MIGRACIONES_PROTOCOL_H

#define MIGRA_CARNES_PATH        "/api/v1/carnes"   /* GET /api/v1/carnes/{numero}?entidad=X */
#define MIGRA_HEALTH_PATH        "/api/v1/salud"
#define MIGRA_ENTITY_QUERY       "entidad"          /* the calling institution's code */

/* error.codigo of the JSON error bodies */
#define MIGRA_ERR_NOT_FOUND      "CARNE_NO_ENCONTRADO"       /* 404 */
#define MIGRA_ERR_BAD_NUMBER     "NUMERO_INVALIDO"           /* 400 */
#define MIGRA_ERR_NO_ENTITY      "ENTIDAD_REQUERIDA"         /* 400 */
#define MIGRA_ERR_ENTITY_DENIED  "ENTIDAD_NO_AUTORIZADA"     /* 403 */
#define MIGRA_ERR_MAINTENANCE    "SERVICIO_NO_DISPONIBLE"    /* 503 */
#define MIGRA_ERR_INTERNAL       "ERROR_INTERNO"             /* 500 (injected failures) */
#define MIGRA_ERR_NO_RESOURCE    "RECURSO_NO_ENCONTRADO"     /* 404: not a path of the API */
#define MIGRA_ERR_METHOD         "METODO_NO_PERMITIDO"       /* 405 */

/* The entity code the simulator refuses, to exercise 403. */
#define MIGRA_BLOCKED_ENTITY     "BLOQUEADA"

#endif
