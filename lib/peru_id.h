/*
 * peru_id.h — the formats of Peru's identifiers the gateway checks: a RUC (an agency, 11 digits)
 * and a DNI (a person, 8 digits). One definition for the configuration, the pide-gateway header
 * and the member certificates, so they cannot disagree about what a member id is.
 */
#ifndef PIDE_GW_PERU_ID_H
#define PIDE_GW_PERU_ID_H

#include <stddef.h>

#define GW_RUC_DIGITS 11
#define GW_DNI_DIGITS 8

/* 1 when s is exactly n ASCII digits. */
int gw_is_digits(const char *s, size_t n);
static inline int gw_is_ruc(const char *s) { return gw_is_digits(s, GW_RUC_DIGITS); }
static inline int gw_is_dni(const char *s) { return gw_is_digits(s, GW_DNI_DIGITS); }

#endif
