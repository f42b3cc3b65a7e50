/*
 * migraciones_data.c — deterministic synthetic carnés de extranjería of the simulated register.
 */
#include "migraciones_data.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sim_pick.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Names by region, so that a holder's names and nationality go together. */
typedef struct region {
    const char *const *female, *const *male, *const *surnames;
    size_t n_female, n_male, n_surnames;
    bool two_surnames;
} region;

static const char *const LATINA_F[] = {
    "MARIA", "DANIELA", "ANDREA", "GABRIELA", "VALENTINA", "YULIMAR", "MARIANGEL", "KARLA",
    "LUISA", "ISABEL", "ADRIANA", "NATALIA", "PAOLA", "CAROLINA", "FERNANDA", "ALEJANDRA",
};
static const char *const LATINA_M[] = {
    "JOSE", "LUIS", "CARLOS", "JESUS", "ANDRES", "YORMAN", "FRANCISCO", "DIEGO", "RAFAEL",
    "EDUARDO", "ALEJANDRO", "MIGUEL", "GUSTAVO", "ORLANDO", "SEBASTIAN", "JAVIER",
};
static const char *const LATINA_APELLIDOS[] = {
    "GONZALEZ", "RODRIGUEZ", "HERNANDEZ", "PEREZ", "MARTINEZ", "GARCIA", "LOPEZ", "RAMIREZ",
    "CASTILLO", "MORENO", "SUAREZ", "BRICEÑO", "ROJAS", "OCHOA", "MUÑOZ", "CARDENAS", "SILVA",
    "PARRA", "MEDINA", "ZAMBRANO", "VILLAMIZAR", "URDANETA", "FERNANDEZ", "SANTANA",
};
static const char *const OTRA_F[] = {
    "EMILY", "SARAH", "ANNA", "YUKI", "MEI", "JI-WOO", "CLAIRE", "GIULIA", "SOPHIE", "LAURA",
};
static const char *const OTRA_M[] = {
    "JOHN", "MICHAEL", "DAVID", "HIROSHI", "WEI", "MIN-JUN", "PIERRE", "MARCO", "THOMAS", "LUCA",
};
static const char *const OTRA_APELLIDOS[] = {
    "SMITH", "JOHNSON", "WANG", "LI", "ZHANG", "TANAKA", "SATO", "KIM", "PARK", "MÜLLER",
    "SCHMIDT", "ROSSI", "BIANCHI", "DUBOIS", "MARTIN", "O'BRIEN",
};

static const region LATINA = {LATINA_F, LATINA_M, LATINA_APELLIDOS, COUNT(LATINA_F),
                              COUNT(LATINA_M), COUNT(LATINA_APELLIDOS), true};
static const region OTRA = {OTRA_F, OTRA_M, OTRA_APELLIDOS, COUNT(OTRA_F), COUNT(OTRA_M),
                            COUNT(OTRA_APELLIDOS), false};

typedef struct nacionalidad { const char *nombre; const region *region; } nacionalidad;

/* Venezuelan residents are by far the largest group in Peru: weighted by repetition. */
static const nacionalidad NACIONALIDADES[] = {
    {"VENEZOLANA", &LATINA}, {"VENEZOLANA", &LATINA}, {"VENEZOLANA", &LATINA},
    {"VENEZOLANA", &LATINA}, {"COLOMBIANA", &LATINA}, {"COLOMBIANA", &LATINA},
    {"ECUATORIANA", &LATINA}, {"BOLIVIANA", &LATINA}, {"ARGENTINA", &LATINA},
    {"CHILENA", &LATINA}, {"ESPAÑOLA", &LATINA}, {"CUBANA", &LATINA},
    {"CHINA", &OTRA}, {"ESTADOUNIDENSE", &OTRA}, {"JAPONESA", &OTRA}, {"COREANA", &OTRA},
    {"ALEMANA", &OTRA}, {"ITALIANA", &OTRA}, {"FRANCESA", &OTRA},
};

static const char *const CALIDADES[] = {
    "RESIDENTE", "TRABAJADOR", "TRABAJADOR", "ESTUDIANTE", "FAMILIAR DE RESIDENTE",
    "RENTISTA", "INVERSIONISTA", "PERMANENTE", "HUMANITARIA", "RELIGIOSO",
};

static const char *const MOTIVOS_ANULACION[] = {
    "CANCELACION DE CALIDAD MIGRATORIA", "DUPLICADO POR PERDIDA", "NACIONALIZACION",
    "SALIDA DEFINITIVA DEL PAIS",
};

const char *migra_estado_carne(migra_resultado r)
{
    switch (r) {
    case MIGRA_VIGENTE: return "VIGENTE";
    case MIGRA_VENCIDO: return "VENCIDO";
    case MIGRA_ANULADO: return "ANULADO";
    default: return NULL;
    }
}

static unsigned pick_in(uint64_t *st, unsigned lo, unsigned hi)
{
    return lo + (unsigned)(sim_pick_next(st) % (hi - lo + 1));
}

/* Writes "YYYY-MM-DD" (days 1-28: valid in every month) and returns the year. */
static unsigned make_date(uint64_t *st, char out[11], unsigned year_lo, unsigned year_hi)
{
    unsigned y = pick_in(st, year_lo, year_hi), m = pick_in(st, 1, 12), d = pick_in(st, 1, 28);
    snprintf(out, 11, "%04u-%02u-%02u", y % 10000, m % 100, d % 100);
    return y;
}

static void fill_card(const char *numero, migra_resultado r, migra_carne *c)
{
    uint64_t st = sim_pick_seed(numero);
    memset(c, 0, sizeof *c);
    memcpy(c->numero, numero, 9);
    const nacionalidad *nac = &NACIONALIDADES[sim_pick_next(&st) % COUNT(NACIONALIDADES)];
    const region *reg = nac->region;
    c->nacionalidad = nac->nombre;
    c->sexo = (sim_pick_next(&st) & 1) ? 'F' : 'M';
    const char *const *names = c->sexo == 'F' ? reg->female : reg->male;
    size_t n_names = c->sexo == 'F' ? reg->n_female : reg->n_male;
    const char *first = names[sim_pick_next(&st) % n_names];
    const char *second = names[sim_pick_next(&st) % n_names];
    if (sim_pick_next(&st) % 2 == 0 && strcmp(first, second) != 0)
        snprintf(c->nombres, sizeof c->nombres, "%s %s", first, second);
    else
        snprintf(c->nombres, sizeof c->nombres, "%s", first);
    c->apellido_paterno = reg->surnames[sim_pick_next(&st) % reg->n_surnames];
    c->apellido_materno = reg->two_surnames ? reg->surnames[sim_pick_next(&st) % reg->n_surnames]
                                            : NULL;
    make_date(&st, c->fecha_nacimiento, 1950, 2006);
    c->calidad_migratoria = CALIDADES[sim_pick_next(&st) % COUNT(CALIDADES)];

    /* Fixed calendar years, so a valid card stays valid whatever day the tests run. */
    bool expired = r == MIGRA_VENCIDO;
    unsigned year = expired ? make_date(&st, c->fecha_vencimiento, 2016, 2023)
                            : make_date(&st, c->fecha_vencimiento, 2030, 2033);
    /* Issued on the same day some years before it expires. */
    snprintf(c->fecha_emision, sizeof c->fecha_emision, "%04u%s",
             (year - (expired ? 4 : 8)) % 10000, c->fecha_vencimiento + 4);
    if (r == MIGRA_ANULADO)
        c->motivo_anulacion = MOTIVOS_ANULACION[sim_pick_next(&st) % COUNT(MOTIVOS_ANULACION)];
}

migra_resultado migra_consultar(const char *numero, migra_carne *out)
{
    if (!sim_is_digits(numero, 9))
        return MIGRA_NUMERO_INVALIDO;
    if (strcmp(numero, "999999999") == 0)
        return MIGRA_MANTENIMIENTO;
    if (strcmp(numero, "888888888") == 0)
        return MIGRA_JSON_INVALIDO;
    if (strcmp(numero, "777777777") == 0)
        return MIGRA_FORMA_INCORRECTA;
    if (strncmp(numero, "0000", 4) == 0)
        return MIGRA_NO_EXISTE;
    migra_resultado r = strncmp(numero, "4444", 4) == 0   ? MIGRA_VENCIDO
                        : strncmp(numero, "5555", 4) == 0 ? MIGRA_ANULADO
                                                          : MIGRA_VIGENTE;
    fill_card(numero, r, out);
    return r;
}
