/*
 * sunat_data.c — deterministic synthetic taxpayers of the simulated SUNAT register: the same RUC
 * always gives the same BeanDdp, drawn from a stream seeded by the RUC (sim_pick).
 */
#include "sunat_data.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sim_pick.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const FIELD_NAMES[SUNAT_FIELD_COUNT] = {
    "cod_dep", "cod_dist", "cod_prov", "ddp_ciiu", "ddp_doble", "ddp_estado", "ddp_fecact",
    "ddp_fecalt", "ddp_fecbaj", "ddp_flag22", "ddp_identi", "ddp_inter1", "ddp_lllttt",
    "ddp_mclase", "ddp_nombre", "ddp_nomvia", "ddp_nomzon", "ddp_numer1", "ddp_numreg",
    "ddp_numruc", "ddp_reacti", "ddp_refer1", "ddp_secuen", "ddp_tamano", "ddp_tipvia",
    "ddp_tipzon", "ddp_tpoemp", "ddp_ubigeo", "ddp_userna", "desc_ciiu", "desc_dep",
    "desc_dist", "desc_estado", "desc_flag22", "desc_identi", "desc_numreg", "desc_prov",
    "desc_tipvia", "desc_tipzon", "desc_tpoemp",
};

static const char *const APELLIDOS[] = {
    "QUISPE", "FLORES", "SANCHEZ", "RODRIGUEZ", "GARCIA", "HUAMAN", "MAMANI", "CHAVEZ", "RAMOS",
    "TORRES", "MENDOZA", "ROJAS", "CASTILLO", "VASQUEZ", "DIAZ", "GONZALES", "ESPINOZA",
};
static const char *const NOMBRES[] = {
    "MARIA", "ROSA", "JUAN", "JOSE", "LUIS", "CARMEN", "JORGE", "LUCIA", "MIGUEL", "ELENA",
};
static const char *const RAZONES[] = {
    "INVERSIONES", "CONSTRUCTORA", "DISTRIBUIDORA", "TRANSPORTES", "AGROINDUSTRIAL",
    "CORPORACION", "SERVICIOS GENERALES", "COMERCIAL", "TEXTIL", "MINERA",
};
static const char *const NOMBRES_EMPRESA[] = {
    "ANDINA", "DEL PACIFICO", "SAN MARTIN", "LOS INCAS", "EL SOL", "SANTA ROSA", "NORPERU",
    "AMAZONICA", "MISTI", "CHAVIN",
};
static const struct {
    const char *code, *sigla, *desc;
} TIPOS[] = {
    {"39", "S.A.C.", "SOCIEDAD ANONIMA CERRADA"},
    {"16", "E.I.R.L.", "EMPRESA INDIVIDUAL DE RESP. LTDA"},
    {"38", "S.A.", "SOCIEDAD ANONIMA"},
};
static const struct {
    const char *code, *desc;
} CIIUS[] = {
    {"47190", "VENTA AL POR MENOR EN COMERCIOS NO ESPECIALIZADOS"},
    {"41001", "CONSTRUCCION DE EDIFICIOS"},
    {"49231", "TRANSPORTE DE CARGA POR CARRETERA"},
    {"62010", "ACTIVIDADES DE PROGRAMACION INFORMATICA"},
    {"01131", "CULTIVO DE HORTALIZAS"},
};
static const struct {
    const char *ubigeo, *dep, *prov, *dist;
} LUGARES[] = {
    {"150101", "LIMA", "LIMA", "LIMA"},
    {"150122", "LIMA", "LIMA", "MIRAFLORES"},
    {"150131", "LIMA", "LIMA", "SAN ISIDRO"},
    {"040101", "AREQUIPA", "AREQUIPA", "AREQUIPA"},
    {"130101", "LA LIBERTAD", "TRUJILLO", "TRUJILLO"},
    {"080101", "CUSCO", "CUSCO", "CUSCO"},
};
static const struct {
    const char *code, *desc;
} VIAS[] = {
    {"01", "AVENIDA"}, {"02", "JIRON"}, {"03", "CALLE"}, {"05", "PASAJE"},
};
static const char *const NOMVIAS[] = {
    "AREQUIPA", "JAVIER PRADO ESTE", "LA MARINA", "GRAU", "LOS PINOS", "BOLIVAR", "TACNA",
};

bool sunat_ruc_valid(const char *ruc)
{
    static const int W[10] = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
    if (!sim_is_digits(ruc, 11))
        return false;
    int sum = 0;
    for (int i = 0; i < 10; i++)
        sum += (ruc[i] - '0') * W[i];
    int d = 11 - sum % 11;
    if (d == 10)
        d = 0;
    else if (d == 11)
        d = 1;
    return ruc[10] - '0' == d;
}

static void set(sunat_bean *b, const char *name, const char *value)
{
    for (size_t i = 0; i < SUNAT_FIELD_COUNT; i++)
        if (strcmp(b->f[i].name, name) == 0) {
            snprintf(b->f[i].value, sizeof b->f[i].value, "%s", value);
            return;
        }
}

const char *sunat_field_value(const sunat_bean *bean, const char *name)
{
    for (size_t i = 0; i < SUNAT_FIELD_COUNT; i++)
        if (strcmp(bean->f[i].name, name) == 0)
            return bean->f[i].value;
    return NULL;
}

static void fill(const char *ruc, sunat_bean *b)
{
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i < SUNAT_FIELD_COUNT; i++)
        b->f[i].name = FIELD_NAMES[i];
    uint64_t st = sim_pick_seed(ruc);
    char buf[96];
    set(b, "ddp_numruc", ruc);
    bool persona = strncmp(ruc, "10", 2) == 0;
    if (persona) {
        snprintf(buf, sizeof buf, "%s %s %s", APELLIDOS[sim_pick_next(&st) % COUNT(APELLIDOS)],
                 APELLIDOS[sim_pick_next(&st) % COUNT(APELLIDOS)],
                 NOMBRES[sim_pick_next(&st) % COUNT(NOMBRES)]);
        set(b, "ddp_nombre", buf);
        set(b, "ddp_identi", "01");
        set(b, "desc_identi", "PERSONA NATURAL");
        set(b, "ddp_tpoemp", "02");
        set(b, "desc_tpoemp", "PERSONA NATURAL SIN NEGOCIO");
    } else {
        size_t t = sim_pick_next(&st) % COUNT(TIPOS);
        snprintf(buf, sizeof buf, "%s %s %s", RAZONES[sim_pick_next(&st) % COUNT(RAZONES)],
                 NOMBRES_EMPRESA[sim_pick_next(&st) % COUNT(NOMBRES_EMPRESA)], TIPOS[t].sigla);
        set(b, "ddp_nombre", buf);
        set(b, "ddp_identi", "02");
        set(b, "desc_identi", "PERSONA JURIDICA");
        set(b, "ddp_tpoemp", TIPOS[t].code);
        set(b, "desc_tpoemp", TIPOS[t].desc);
    }
    size_t c = sim_pick_next(&st) % COUNT(CIIUS);
    set(b, "ddp_ciiu", CIIUS[c].code);
    set(b, "desc_ciiu", CIIUS[c].desc);
    size_t l = sim_pick_next(&st) % COUNT(LUGARES);
    set(b, "ddp_ubigeo", LUGARES[l].ubigeo);
    snprintf(buf, sizeof buf, "%.2s", LUGARES[l].ubigeo);
    set(b, "cod_dep", buf);
    snprintf(buf, sizeof buf, "%.2s", LUGARES[l].ubigeo + 2);
    set(b, "cod_prov", buf);
    snprintf(buf, sizeof buf, "%.2s", LUGARES[l].ubigeo + 4);
    set(b, "cod_dist", buf);
    set(b, "desc_dep", LUGARES[l].dep);
    set(b, "desc_prov", LUGARES[l].prov);
    set(b, "desc_dist", LUGARES[l].dist);
    size_t v = sim_pick_next(&st) % COUNT(VIAS);
    set(b, "ddp_tipvia", VIAS[v].code);
    set(b, "desc_tipvia", VIAS[v].desc);
    set(b, "ddp_nomvia", NOMVIAS[sim_pick_next(&st) % COUNT(NOMVIAS)]);
    snprintf(buf, sizeof buf, "%u", (unsigned)(100 + sim_pick_next(&st) % 3900));
    set(b, "ddp_numer1", buf);
    set(b, "ddp_inter1", "-");
    set(b, "ddp_tipzon", "01");
    set(b, "desc_tipzon", "URBANIZACION");
    set(b, "ddp_nomzon", "-");
    set(b, "ddp_refer1", "-");
    set(b, "ddp_numreg", "0023");
    set(b, "desc_numreg", "INTENDENCIA LIMA");
    unsigned year = 1995 + (unsigned)(sim_pick_next(&st) % 28);
    unsigned month = 1 + (unsigned)(sim_pick_next(&st) % 12);
    unsigned day = 1 + (unsigned)(sim_pick_next(&st) % 28);
    snprintf(buf, sizeof buf, "%04u-%02u-%02u", year, month, day);
    set(b, "ddp_fecalt", buf);
    set(b, "ddp_fecact", "2024-01-15");
    set(b, "ddp_fecbaj", "");
    set(b, "ddp_estado", "00");
    set(b, "desc_estado", "ACTIVO");
    set(b, "ddp_flag22", "00");
    set(b, "desc_flag22", "HABIDO");
    set(b, "ddp_doble", "0");
    set(b, "ddp_lllttt", LUGARES[l].ubigeo);
    set(b, "ddp_mclase", "1");
    set(b, "ddp_reacti", "0");
    set(b, "ddp_secuen", "0");
    set(b, "ddp_tamano", "03");
    set(b, "ddp_userna", "SUNAT");
}

sunat_case sunat_lookup(const char *ruc, sunat_bean *bean)
{
    if (!sunat_ruc_valid(ruc))
        return SUNAT_INVALID;
    if (strcmp(ruc, SUNAT_RUC_NOT_FOUND) == 0)
        return SUNAT_NOT_FOUND;
    /* Only these prefixes are given out (10 natural persons, 15/16/17 special cases, 20
     * companies): any other is not registered. */
    if (strncmp(ruc, "10", 2) != 0 && strncmp(ruc, "15", 2) != 0 && strncmp(ruc, "16", 2) != 0 &&
        strncmp(ruc, "17", 2) != 0 && strncmp(ruc, "20", 2) != 0)
        return SUNAT_NOT_FOUND;
    if (strcmp(ruc, SUNAT_RUC_DB_DOWN) == 0)
        return SUNAT_DB_DOWN;
    if (strcmp(ruc, SUNAT_RUC_GARBAGE) == 0)
        return SUNAT_GARBAGE;
    if (strcmp(ruc, SUNAT_RUC_BROKEN_REF) == 0)
        return SUNAT_BROKEN_REF;
    fill(ruc, bean);
    if (strcmp(ruc, SUNAT_RUC_BAJA) == 0) {
        set(bean, "ddp_estado", "10");
        set(bean, "desc_estado", "BAJA DEFINITIVA");
        set(bean, "ddp_fecbaj", "2021-06-30");
    } else if (strcmp(ruc, SUNAT_RUC_NO_HABIDO) == 0) {
        set(bean, "ddp_flag22", "12");
        set(bean, "desc_flag22", "NO HABIDO");
    }
    return strcmp(ruc, SUNAT_RUC_SLOW) == 0 ? SUNAT_SLOW : SUNAT_FOUND;
}
