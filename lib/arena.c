/* arena.c — chained-block bump allocator behind each exchange (see arena.h). */
#include "arena.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_arena_block {
    gw_arena_block *next;
    size_t size;  /* usable bytes in data[] */
    size_t used;
    max_align_t data[]; /* aligned storage */
};

#define ARENA_ALIGN (_Alignof(max_align_t))

static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
}

void gw_arena_init(gw_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 16384;
    a->bytes_allocated = 0;
}

static gw_arena_block *block_new(size_t size)
{
    gw_arena_block *b = malloc(sizeof(*b) + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

void *gw_arena_alloc(gw_arena *a, size_t size)
{
    if (size == 0)
        size = 1;
    if (size > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    size_t need = align_up(size);
    gw_arena_block *b = a->head;
    if (!b || b->size - b->used < need) {
        /* Oversized requests get a block of their own, so one large body does not make
         * every later block large. */
        size_t bsize = need > a->block_size ? need : a->block_size;
        gw_arena_block *nb = block_new(bsize);
        if (!nb)
            return NULL;
        if (b && need > a->block_size) {
            /* keep the current block on top: it still has room for small allocations */
            nb->next = b->next;
            b->next = nb;
            nb->used = need;
            a->bytes_allocated += need;
            return nb->data;
        }
        nb->next = b;
        a->head = b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += need;
    a->bytes_allocated += need;
    return p;
}

void *gw_arena_calloc(gw_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = gw_arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

char *gw_arena_strndup(gw_arena *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = gw_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *gw_arena_strdup(gw_arena *a, const char *s)
{
    return s ? gw_arena_strndup(a, s, strlen(s)) : NULL;
}

char *gw_arena_printf(gw_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = gw_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

static void free_chain(gw_arena_block *b)
{
    while (b) {
        gw_arena_block *next = b->next;
        free(b);
        b = next;
    }
}

void gw_arena_reset(gw_arena *a)
{
    if (!a->head)
        return;
    /* Keep the last (oldest) block of ordinary size; free the rest. */
    gw_arena_block *keep = a->head;
    while (keep->next)
        keep = keep->next;
    if (keep->size != a->block_size)
        keep = NULL;
    gw_arena_block *b = a->head;
    while (b) {
        gw_arena_block *next = b->next;
        if (b != keep)
            free(b);
        b = next;
    }
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->head = keep;
    a->bytes_allocated = 0;
}

void gw_arena_destroy(gw_arena *a)
{
    free_chain(a->head);
    a->head = NULL;
    a->bytes_allocated = 0;
}
