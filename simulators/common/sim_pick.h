/*
 * sim_pick.h — what the simulators' synthetic registers (reniec_data, migraciones_data, pj_data)
 * share: their keys are fixed-length digit strings, and every record is drawn from a stream of
 * picks seeded by its key, so the same key always gives the same record, on every platform.
 */
#ifndef PIDE_SIM_PICK_H
#define PIDE_SIM_PICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* s is exactly `digits` ASCII digits, NULL is not: a key, or another identifier (a RUC). */
bool sim_is_digits(const char *s, size_t digits);
/* The starting state of key's stream: FNV-1a 64 of its bytes. */
uint64_t sim_pick_seed(const char *key);
/* The next pick of the stream (splitmix64): well mixed even from neighbouring seeds. */
uint64_t sim_pick_next(uint64_t *state);

#endif
