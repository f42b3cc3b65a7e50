/*
 * migraciones_data.h — the simulated register of foreign residents' cards (carnés de
 * extranjería): a deterministic synthetic card for every 9-digit CE number.
 *
 * Holder, nationality, migratory status and dates are picked from built-in lists by a hash of
 * the number, so the same number always yields the same card and load tests can use millions of
 * distinct numbers. Special numbers (documented in README.md):
 *   0000xxxxx            not registered                          (MIGRA_NO_EXISTE, HTTP 404)
 *   4444xxxxx            expired: full data, past expiry date    (MIGRA_VENCIDO)
 *   5555xxxxx            cancelled: full data and a reason       (MIGRA_ANULADO)
 *   777777777            the server answers JSON of the wrong shape (no holder)
 *   888888888            the server answers invalid JSON
 *   999999999            register under maintenance              (HTTP 503)
 *   anything not 9 ASCII digits: invalid number                  (HTTP 400)
 */
#ifndef PIDE_MIGRACIONES_DATA_H
#define PIDE_MIGRACIONES_DATA_H

#include <stdbool.h>
#include <stddef.h>

typedef enum migra_resultado {
    MIGRA_VIGENTE,             /* valid card */
    MIGRA_VENCIDO,             /* expired */
    MIGRA_ANULADO,             /* cancelled */
    MIGRA_NO_EXISTE,
    MIGRA_NUMERO_INVALIDO,
    MIGRA_MANTENIMIENTO,
    MIGRA_FORMA_INCORRECTA,    /* test number: a JSON answer without the holder */
    MIGRA_JSON_INVALIDO,       /* test number: an answer that is not JSON */
} migra_resultado;

/* The card's "estado" as the register writes it: "VIGENTE", "VENCIDO", "ANULADO"; NULL for
 * the other results (they carry no card). */
const char *migra_estado_carne(migra_resultado r);

typedef struct migra_carne {
    char numero[10];
    char nombres[48];                  /* one or two given names, upper case */
    const char *apellido_paterno;
    const char *apellido_materno;      /* NULL: the holder has a single surname */
    const char *nacionalidad;          /* e.g. "VENEZOLANA" */
    char sexo;                         /* 'F' or 'M' */
    char fecha_nacimiento[11];         /* "YYYY-MM-DD" */
    const char *calidad_migratoria;    /* "RESIDENTE", "TRABAJADOR", ... */
    char fecha_emision[11];
    char fecha_vencimiento[11];        /* in 2030-2034 when VIGENTE, 2016-2023 when VENCIDO */
    const char *motivo_anulacion;      /* ANULADO only, else NULL */
} migra_carne;

/* Looks the number up. The card is filled for VIGENTE, VENCIDO and ANULADO only. */
migra_resultado migra_consultar(const char *numero, migra_carne *out);

#endif
