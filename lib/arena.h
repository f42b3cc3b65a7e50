/*
 * arena.h — per-exchange memory: many small allocations, one release.
 *
 * Every stage of an exchange allocates from the exchange's arena; gw_arena_reset() gives it all
 * back at once when the exchange ends, keeping the first block for the next exchange so that a
 * worker serving keep-alive traffic does not go back to malloc for every request.
 */
#ifndef PIDE_GW_ARENA_H
#define PIDE_GW_ARENA_H

#include <stddef.h>

typedef struct gw_arena_block gw_arena_block;

typedef struct gw_arena {
    gw_arena_block *head;   /* current block; older blocks chained behind it */
    size_t block_size;      /* size of ordinary blocks */
    size_t bytes_allocated; /* sum handed out since the last reset, for limits and tests */
} gw_arena;

void gw_arena_init(gw_arena *a, size_t block_size);
/* NULL when out of memory. Aligned for any type (_Alignof(max_align_t)). */
void *gw_arena_alloc(gw_arena *a, size_t size);
void *gw_arena_calloc(gw_arena *a, size_t count, size_t size);
char *gw_arena_strdup(gw_arena *a, const char *s);
char *gw_arena_strndup(gw_arena *a, const char *s, size_t n);
/* printf into the arena. */
char *gw_arena_printf(gw_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees every block but the first and rewinds it. */
void gw_arena_reset(gw_arena *a);
/* Frees everything. */
void gw_arena_destroy(gw_arena *a);

#endif
