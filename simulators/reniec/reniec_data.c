/*
 * reniec_data.c — deterministic synthetic citizens of the simulated RENIEC padrón.
 */
#include "reniec_data.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sim_pick.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const NOMBRES_F[] = {
    "MARIA", "ROSA", "ANA", "CARMEN", "LUCIA", "JULIA", "ELENA", "SOFIA", "VALERIA", "CAMILA",
    "GABRIELA", "PATRICIA", "CARLA", "DIANA", "FIORELLA", "MILAGROS", "KATHERINE", "YESENIA",
    "ROCIO", "SUSANA",
};
static const char *const NOMBRES_M[] = {
    "JUAN", "JOSE", "LUIS", "CARLOS", "JORGE", "MIGUEL", "PEDRO", "CESAR", "VICTOR", "MANUEL",
    "JESUS", "RICARDO", "ALBERTO", "FERNANDO", "RAUL", "DIEGO", "ANDRES", "HUGO", "WILFREDO",
    "PERCY",
};
static const char *const APELLIDOS[] = {
    "QUISPE", "FLORES", "SANCHEZ", "RODRIGUEZ", "GARCIA", "HUAMAN", "MAMANI", "CHAVEZ", "RAMOS",
    "TORRES", "MENDOZA", "ROJAS", "CASTILLO", "VASQUEZ", "DIAZ", "GONZALES", "ESPINOZA", "LOPEZ",
    "RAMIREZ", "CRUZ", "GUTIERREZ", "VARGAS", "PEREZ", "CONDORI", "HUAMANI", "TICONA", "CCAMA",
    "PEÑA", "NUÑEZ", "CASTAÑEDA", "VILCHEZ", "ALVARADO", "PAREDES", "SALAZAR", "CORDOVA",
    "AGUILAR", "MORALES", "HERRERA", "MEDINA", "VEGA",
};
static const char *const VIAS[] = {
    "AV. AREQUIPA", "JR. DE LA UNION", "AV. JAVIER PRADO ESTE", "JR. HUALLAGA",
    "CALLE LAS BEGONIAS", "AV. BRASIL", "AV. LA MARINA", "JR. AMAZONAS", "AV. TACNA",
    "CALLE LOS PINOS", "PSJE. SAN MARTIN", "AV. GRAU", "JR. ICA", "AV. EJERCITO",
    "CALLE MERCADERES", "AV. ESPAÑA", "JR. BOLIVAR", "AV. LOS INCAS", "CALLE REAL",
    "AV. INDEPENDENCIA",
};
/* Real district codes (INEI ubigeo), Lima weighted by appearing more than once. */
static const char *const UBIGEOS[] = {
    "150101", "150122", "150131", "150132", "150140", "150101", "150132", "070101", "040101",
    "130101", "140101", "200101", "080101", "120101", "210101", "160101", "020101", "060101",
    "110101", "230101", "220101", "250101",
};
static const char RESTRICCION[] = "DATOS PROTEGIDOS POR MANDATO JUDICIAL";

const char *reniec_estado_codigo(reniec_estado e)
{
    switch (e) {
    case RENIEC_ESTADO_ENCONTRADO: return "00";
    case RENIEC_ESTADO_NO_EXISTE: return "01";
    case RENIEC_ESTADO_FALLECIDO: return "02";
    case RENIEC_ESTADO_RESTRINGIDO: return "03";
    case RENIEC_ESTADO_DNI_INVALIDO: return "10";
    case RENIEC_ESTADO_ENTIDAD_NO_AUTORIZADA: return "20";
    case RENIEC_ESTADO_MANTENIMIENTO: return "90";
    }
    return "99";
}

const char *reniec_estado_descripcion(reniec_estado e)
{
    switch (e) {
    case RENIEC_ESTADO_ENCONTRADO: return "CONSULTA EXITOSA";
    case RENIEC_ESTADO_NO_EXISTE: return "NUMERO DE DOCUMENTO NO REGISTRADO EN EL PADRON";
    case RENIEC_ESTADO_FALLECIDO: return "CIUDADANO CON ACTA DE DEFUNCION REGISTRADA";
    case RENIEC_ESTADO_RESTRINGIDO: return "DATOS DEL CIUDADANO CON RESTRICCION";
    case RENIEC_ESTADO_DNI_INVALIDO: return "NUMERO DE DOCUMENTO INVALIDO";
    case RENIEC_ESTADO_ENTIDAD_NO_AUTORIZADA: return "ENTIDAD NO AUTORIZADA";
    case RENIEC_ESTADO_MANTENIMIENTO: return "SERVICIO EN MANTENIMIENTO";
    }
    return "ERROR";
}

const char *reniec_estado_civil_nombre(char codigo)
{
    switch (codigo) {
    case 'S': return "SOLTERO";
    case 'C': return "CASADO";
    case 'V': return "VIUDO";
    case 'D': return "DIVORCIADO";
    default: return NULL;
    }
}

static const char *pick(uint64_t *state, const char *const *list, size_t n)
{
    return list[sim_pick_next(state) % n];
}

static void fill_person(const char *dni, reniec_ciudadano *c)
{
    uint64_t st = sim_pick_seed(dni);
    bool female = sim_pick_next(&st) & 1;
    const char *const *names = female ? NOMBRES_F : NOMBRES_M;
    size_t n_names = female ? COUNT(NOMBRES_F) : COUNT(NOMBRES_M);
    const char *first = pick(&st, names, n_names);
    const char *second = pick(&st, names, n_names);
    if (sim_pick_next(&st) % 3 != 0 && strcmp(first, second) != 0)
        snprintf(c->nombres, sizeof c->nombres, "%s %s", first, second);
    else
        snprintf(c->nombres, sizeof c->nombres, "%s", first);
    c->apellido_paterno = pick(&st, APELLIDOS, COUNT(APELLIDOS));
    c->apellido_materno = pick(&st, APELLIDOS, COUNT(APELLIDOS));

    const char *via = pick(&st, VIAS, COUNT(VIAS));
    unsigned number = 100 + (unsigned)(sim_pick_next(&st) % 3900);
    unsigned flat = (unsigned)(sim_pick_next(&st) % 12);
    if (flat < 4)
        snprintf(c->direccion, sizeof c->direccion, "%s %u DPTO. %u0%u", via, number, flat + 1,
                 flat + 1);
    else
        snprintf(c->direccion, sizeof c->direccion, "%s %u", via, number);
    c->ubigeo = pick(&st, UBIGEOS, COUNT(UBIGEOS));

    unsigned civil = (unsigned)(sim_pick_next(&st) % 100);
    c->estado_civil = civil < 55 ? 'S' : civil < 90 ? 'C' : civil < 95 ? 'V' : 'D';

    /* Drawn for everyone so that the other fields do not depend on being deceased. */
    uint64_t death = sim_pick_next(&st);
    snprintf(c->fecha_fallecimiento, sizeof c->fecha_fallecimiento, "%04u-%02u-%02u",
             2000 + (unsigned)(death % 24), 1 + (unsigned)(death / 24 % 12),
             1 + (unsigned)(death / 288 % 28));
}

reniec_estado reniec_consultar(const char *dni, reniec_ciudadano *out)
{
    memset(out, 0, sizeof *out);
    if (!sim_is_digits(dni, 8))
        return RENIEC_ESTADO_DNI_INVALIDO;
    if (dni[0] == '0')
        return RENIEC_ESTADO_NO_EXISTE;
    if (strcmp(dni, "99999999") == 0)
        return RENIEC_ESTADO_MANTENIMIENTO;

    memcpy(out->dni, dni, 9);
    fill_person(dni, out);
    if (strncmp(dni, "4444", 4) == 0)
        return RENIEC_ESTADO_FALLECIDO;
    out->fecha_fallecimiento[0] = '\0';
    if (strncmp(dni, "5555", 4) == 0) {
        out->direccion[0] = '\0';
        out->ubigeo = NULL;
        out->estado_civil = '\0';
        out->restriccion = RESTRICCION;
        return RENIEC_ESTADO_RESTRINGIDO;
    }
    out->con_foto = true;
    return RENIEC_ESTADO_ENCONTRADO;
}
