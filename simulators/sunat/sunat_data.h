/*
 * sunat_data.h — deterministic synthetic taxpayers of the simulated SUNAT RUC register
 * (simulators/sunat/README.md lists the special numbers).
 */
#ifndef PIDE_SUNAT_DATA_H
#define PIDE_SUNAT_DATA_H

#include <stdbool.h>

/* What the register does with a RUC. */
typedef enum sunat_case {
    SUNAT_FOUND,            /* a taxpayer (ACTIVO/HABIDO unless a special number says not) */
    SUNAT_NOT_FOUND,        /* getDatosPrincipalesReturn xsi:nil="true" */
    SUNAT_INVALID,          /* not 11 digits or wrong check digit: RucInvalidoException Fault */
    SUNAT_DB_DOWN,          /* Server.generalException Fault (the register's database) */
    SUNAT_GARBAGE,          /* HTTP 200 with an HTML error page */
    SUNAT_BROKEN_REF,       /* the href points at no multiRef */
    SUNAT_SLOW,             /* found, answered after SUNAT_SLOW_MS */
} sunat_case;

#define SUNAT_SLOW_MS 3000

/* The special numbers (valid check digits). */
#define SUNAT_RUC_NOT_FOUND "20999999990"
#define SUNAT_RUC_BAJA "20888888889"
#define SUNAT_RUC_NO_HABIDO "20777777778"
#define SUNAT_RUC_DB_DOWN "20666666667"
#define SUNAT_RUC_GARBAGE "20555555556"
#define SUNAT_RUC_BROKEN_REF "20444444445"
#define SUNAT_RUC_SLOW "20333333334"

/* One field of BeanDdp, in the order SUNAT sends them. */
typedef struct sunat_field {
    const char *name;
    char value[96];
} sunat_field;

#define SUNAT_FIELD_COUNT 40

typedef struct sunat_bean {
    sunat_field f[SUNAT_FIELD_COUNT];
} sunat_bean;

/* true when ruc is 11 digits whose last is the check digit of the first ten (SUNAT's module 11
 * with weights 5 4 3 2 7 6 5 4 3 2). */
bool sunat_ruc_valid(const char *ruc);

/* Decides the case; fills bean for SUNAT_FOUND and SUNAT_SLOW. */
sunat_case sunat_lookup(const char *ruc, sunat_bean *bean);

/* The value of field `name` in bean, or NULL. */
const char *sunat_field_value(const sunat_bean *bean, const char *name);

#endif
