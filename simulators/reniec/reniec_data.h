/*
 * reniec_data.h — the simulated padrón: a deterministic synthetic citizen for every 8-digit DNI.
 *
 * Names, address, ubigeo, civil status and (for the deceased) date of death are picked from
 * built-in lists by a hash of the DNI, so the same DNI always yields the same citizen and load
 * tests can use millions of distinct DNIs. Special DNIs (documented in README.md):
 *   0xxxxxxx            not in the padrón             (estado 01)
 *   44440000-44449999   deceased: data, date of death (estado 02)
 *   55550000-55559999   restricted: names only        (estado 03)
 *   99999999            padrón under maintenance      (estado 90)
 *   anything not 8 ASCII digits: invalid DNI          (estado 10)
 */
#ifndef PIDE_RENIEC_DATA_H
#define PIDE_RENIEC_DATA_H

#include <stdbool.h>
#include <stddef.h>

/* The padrón's own answer codes (the "estado" of the internal protocol). */
typedef enum reniec_estado {
    RENIEC_ESTADO_ENCONTRADO,             /* "00" */
    RENIEC_ESTADO_NO_EXISTE,              /* "01" */
    RENIEC_ESTADO_FALLECIDO,              /* "02" */
    RENIEC_ESTADO_RESTRINGIDO,            /* "03" */
    RENIEC_ESTADO_DNI_INVALIDO,           /* "10" */
    RENIEC_ESTADO_ENTIDAD_NO_AUTORIZADA,  /* "20": decided by the server, not by the data */
    RENIEC_ESTADO_MANTENIMIENTO,          /* "90" */
} reniec_estado;

const char *reniec_estado_codigo(reniec_estado e);
const char *reniec_estado_descripcion(reniec_estado e);

typedef struct reniec_ciudadano {
    char dni[9];
    char nombres[48];                /* one or two given names, upper case */
    const char *apellido_paterno;
    const char *apellido_materno;
    char direccion[80];              /* empty when restricted */
    const char *ubigeo;              /* 6 digits; NULL when restricted */
    char estado_civil;               /* 'S', 'C', 'V', 'D'; '\0' when restricted */
    char fecha_fallecimiento[11];    /* "YYYY-MM-DD" when deceased, else empty */
    const char *restriccion;         /* reason when restricted, else NULL */
    bool con_foto;                   /* only living, unrestricted citizens carry a photo */
} reniec_ciudadano;

/* Looks the DNI up. The citizen is filled for ENCONTRADO, FALLECIDO and RESTRINGIDO only. */
reniec_estado reniec_consultar(const char *dni, reniec_ciudadano *out);

/* "SOLTERO", "CASADO", "VIUDO", "DIVORCIADO"; NULL for an unknown code. */
const char *reniec_estado_civil_nombre(char codigo);

extern const unsigned char reniec_photo_jpeg[];
extern const size_t reniec_photo_jpeg_len;

#endif
