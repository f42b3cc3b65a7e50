/*
 * pj_data.c — deterministic synthetic records of the simulated Poder Judicial registry.
 */
#include "pj_data.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sim_pick.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const ORGANOS[] = {
    "PRIMER JUZGADO PENAL UNIPERSONAL DE LIMA",
    "SEGUNDO JUZGADO PENAL UNIPERSONAL DE LIMA",
    "JUZGADO PENAL COLEGIADO SUPRAPROVINCIAL DE LIMA",
    "PRIMER JUZGADO PENAL UNIPERSONAL DE AREQUIPA",
    "JUZGADO PENAL UNIPERSONAL DE TRUJILLO",
    "SEGUNDO JUZGADO PENAL UNIPERSONAL DEL CALLAO",
    "JUZGADO PENAL COLEGIADO DE PIURA",
    "JUZGADO PENAL UNIPERSONAL DE HUANCAYO",
};
/* District codes of the case numbers, paired with ORGANOS by index. */
static const char *const DISTRITOS[] = {
    "1801", "1801", "1801", "0401", "1601", "0701", "2001", "1501",
};
static const char *const DELITOS[] = {
    "HURTO AGRAVADO", "ROBO AGRAVADO", "LESIONES LEVES", "CONDUCCION EN ESTADO DE EBRIEDAD",
    "OMISION A LA ASISTENCIA FAMILIAR", "ESTAFA", "APROPIACION ILICITA",
    "FALSIFICACION DE DOCUMENTOS", "MICROCOMERCIALIZACION DE DROGAS", "RECEPTACION",
};

_Static_assert(COUNT(ORGANOS) == COUNT(DISTRITOS), "one district code per court");

const char *pj_resultado_codigo(pj_resultado r)
{
    switch (r) {
    case PJ_SIN_REGISTRO: return "SR";
    case PJ_CON_REGISTRO: return "CR";
    case PJ_NO_ENCONTRADO: return "NE";
    case PJ_MANTENIMIENTO: return "MT";
    case PJ_RESPUESTA_DEFECTUOSA:
    case PJ_DOCUMENTO_INVALIDO: return NULL;
    }
    return NULL;
}

const char *pj_resultado_descripcion(pj_resultado r)
{
    switch (r) {
    case PJ_SIN_REGISTRO: return "NO REGISTRA ANTECEDENTES PENALES";
    case PJ_CON_REGISTRO: return "REGISTRA ANTECEDENTES PENALES";
    case PJ_NO_ENCONTRADO: return "DOCUMENTO NO REGISTRADO EN EL REGISTRO NACIONAL DE CONDENAS";
    case PJ_MANTENIMIENTO: return "SERVICIO EN MANTENIMIENTO";
    case PJ_RESPUESTA_DEFECTUOSA: return "RESPUESTA DEFECTUOSA";
    case PJ_DOCUMENTO_INVALIDO: return "NUMERO DE DOCUMENTO INVALIDO";
    }
    return "ERROR";
}

char pj_situacion_codigo(pj_situacion s)
{
    switch (s) {
    case PJ_SITUACION_VIGENTE: return 'V';
    case PJ_SITUACION_CUMPLIDA: return 'C';
    case PJ_SITUACION_REHABILITADO: return 'R';
    }
    return '?';
}

const char *pj_situacion_nombre(pj_situacion s)
{
    switch (s) {
    case PJ_SITUACION_VIGENTE: return "VIGENTE";
    case PJ_SITUACION_CUMPLIDA: return "CUMPLIDA";
    case PJ_SITUACION_REHABILITADO: return "REHABILITADO";
    }
    return "DESCONOCIDA";
}

static bool in_block(const char *dni, const char *prefix4)
{
    return strncmp(dni, prefix4, 4) == 0;
}

static void make_condena(uint64_t *state, pj_condena *c)
{
    size_t organo = (size_t)(sim_pick_next(state) % COUNT(ORGANOS));
    unsigned year = 2000 + (unsigned)(sim_pick_next(state) % 24);
    unsigned month = 1 + (unsigned)(sim_pick_next(state) % 12);
    unsigned day = 1 + (unsigned)(sim_pick_next(state) % 28);
    unsigned filed = year - (unsigned)(sim_pick_next(state) % 3);
    unsigned number = 1 + (unsigned)(sim_pick_next(state) % 9999);
    unsigned court = 1 + (unsigned)(sim_pick_next(state) % 12);
    c->organo = ORGANOS[organo];
    c->delito = DELITOS[sim_pick_next(state) % COUNT(DELITOS)];
    snprintf(c->expediente, sizeof c->expediente, "%05u-%04u-0-%s-JR-PE-%02u", number, filed,
             DISTRITOS[organo], court);
    snprintf(c->fecha_sentencia, sizeof c->fecha_sentencia, "%04u-%02u-%02u", year, month, day);
    /* Old sentences are mostly served; recent ones mostly still being served. */
    uint64_t r = sim_pick_next(state) % 10;
    if (year >= 2019)
        c->situacion = r < 7 ? PJ_SITUACION_VIGENTE : PJ_SITUACION_CUMPLIDA;
    else
        c->situacion = r < 2 ? PJ_SITUACION_VIGENTE
                     : r < 6 ? PJ_SITUACION_CUMPLIDA : PJ_SITUACION_REHABILITADO;
}

pj_resultado pj_consultar(const char *dni, pj_consulta *out)
{
    memset(out, 0, sizeof *out);
    if (!sim_is_digits(dni, 8))
        return PJ_DOCUMENTO_INVALIDO;
    memcpy(out->dni, dni, 9);
    if (dni[0] == '0')
        return PJ_NO_ENCONTRADO;
    if (strcmp(dni, "88888888") == 0)
        return PJ_RESPUESTA_DEFECTUOSA;
    if (strcmp(dni, "99999999") == 0)
        return PJ_MANTENIMIENTO;
    size_t total;
    uint64_t state = sim_pick_seed(dni);
    if (in_block(dni, "6666"))
        total = 1;
    else if (in_block(dni, "7777"))
        total = 2 + (size_t)(sim_pick_next(&state) % 3);
    else
        return PJ_SIN_REGISTRO;
    for (size_t i = 0; i < total; i++)
        make_condena(&state, &out->condenas[i]);
    out->total = total;
    return PJ_CON_REGISTRO;
}
