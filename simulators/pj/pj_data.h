/*
 * pj_data.h — the simulated Poder Judicial registry of sentences: a deterministic answer for
 * every 8-digit DNI.
 *
 * Records (court, case number, offence, sentence date, status) are picked from built-in lists by
 * a hash of the DNI, so the same DNI always yields the same records. Special DNIs (documented in
 * README.md):
 *   0xxxxxxx            not in the registry                  (NE)
 *   66660000-66669999   one record                           (CR)
 *   77770000-77779999   two to four records                  (CR)
 *   88888888            the simulator answers garbage        (a behaviour of pj-sim)
 *   99999999            registry under maintenance           (MT)
 *   every other 8-digit DNI: no record                       (SR)
 *   anything not 8 ASCII digits: invalid document            (refused by pj-sim with a Fault)
 */
#ifndef PIDE_PJ_DATA_H
#define PIDE_PJ_DATA_H

#include <stddef.h>

typedef enum pj_resultado {
    PJ_SIN_REGISTRO,         /* "SR" */
    PJ_CON_REGISTRO,         /* "CR" */
    PJ_NO_ENCONTRADO,        /* "NE" */
    PJ_MANTENIMIENTO,        /* "MT" */
    PJ_RESPUESTA_DEFECTUOSA, /* 88888888: not a code on the wire; pj-sim sends garbage */
    PJ_DOCUMENTO_INVALIDO,   /* not a code on the wire; pj-sim answers a Sender Fault */
} pj_resultado;

/* "SR", "CR", "NE", "MT"; NULL for the two that are not answers. */
const char *pj_resultado_codigo(pj_resultado r);
const char *pj_resultado_descripcion(pj_resultado r);

typedef enum pj_situacion {
    PJ_SITUACION_VIGENTE,       /* "V": being served */
    PJ_SITUACION_CUMPLIDA,      /* "C": served */
    PJ_SITUACION_REHABILITADO,  /* "R": served and rehabilitated */
} pj_situacion;

char pj_situacion_codigo(pj_situacion s);
const char *pj_situacion_nombre(pj_situacion s);

#define PJ_MAX_CONDENAS 4

typedef struct pj_condena {
    const char *organo;          /* the sentencing court */
    char expediente[40];         /* e.g. "00123-2015-0-1801-JR-PE-02" */
    const char *delito;
    char fecha_sentencia[11];    /* "YYYY-MM-DD" */
    pj_situacion situacion;
} pj_condena;

typedef struct pj_consulta {
    char dni[9];
    size_t total;                /* condenas filled: 0 unless PJ_CON_REGISTRO */
    pj_condena condenas[PJ_MAX_CONDENAS];
} pj_consulta;

/* Looks the DNI up; out is always initialised (total 0 unless PJ_CON_REGISTRO). */
pj_resultado pj_consultar(const char *dni, pj_consulta *out);

#endif
