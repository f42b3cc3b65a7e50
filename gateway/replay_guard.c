/*
 * replay_guard.c — sharded table of (client, message id) digests with expiry.
 *
 * Each shard keeps its entries in a ring in arrival order. Since every entry lives for the same
 * window, arrival order is expiry order: purging expired entries and evicting the oldest are both
 * "drop the ring's head", O(1) apart from unlinking it from its (short) hash chain.
 */
#include "replay_guard.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "keyed_hash.h"

#define NO_ENTRY UINT32_MAX
#define MAX_SHARDS 64u
#define MIN_ENTRIES_PER_SHARD 1024u
#define CACHE_LINE 64

typedef struct replay_entry {
    uint64_t digest;
    int64_t expires_us;
    uint32_t chain_next; /* next entry in the same hash bucket */
} replay_entry;

typedef struct replay_shard {
    /* Aligned so that two shards' locks never share a cache line. */
    _Alignas(CACHE_LINE) pthread_mutex_t lock;
    replay_entry *ring;
    uint32_t *buckets;
    uint32_t capacity;
    uint32_t bucket_mask;
    uint32_t head;  /* oldest entry */
    uint32_t count;
    uint64_t accepted, replayed, expired, evicted;
    int64_t last_evicted_age_us;
    int64_t last_eviction_at_us;
} replay_shard;

struct gw_replay_guard {
    gw_hash_key key;
    int64_t window_us;
    unsigned window_s;
    unsigned shard_count;
    unsigned shard_shift; /* shard = digest >> shard_shift (unused with one shard) */
    replay_shard *shards;
};

static uint32_t next_pow2(uint32_t n)
{
    uint32_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

static size_t shard_capacity(size_t max_entries, unsigned shards)
{
    if (shards == 1)
        return max_entries;
    size_t share = (max_entries + shards - 1) / shards;
    return share + share / 4;
}

static void shard_destroy(replay_shard *s)
{
    free(s->ring);
    free(s->buckets);
    pthread_mutex_destroy(&s->lock);
}

static gw_status shard_init(replay_shard *s, size_t capacity)
{
    memset(s, 0, sizeof *s);
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        return GW_ERR_INTERNAL;
    s->capacity = (uint32_t)capacity;
    uint32_t nbuckets = next_pow2(s->capacity);
    s->bucket_mask = nbuckets - 1;
    s->ring = malloc(capacity * sizeof *s->ring);
    s->buckets = malloc(nbuckets * sizeof *s->buckets);
    if (!s->ring || !s->buckets) {
        shard_destroy(s);
        return GW_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < nbuckets; i++)
        s->buckets[i] = NO_ENTRY;
    return GW_OK;
}

gw_replay_guard *gw_replay_guard_new(unsigned window_s, size_t max_entries)
{
    if (window_s == 0 || window_s > GW_REPLAY_MAX_WINDOW_S || max_entries == 0 ||
        max_entries > GW_REPLAY_MAX_ENTRIES_LIMIT)
        return NULL;
    gw_replay_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    unsigned initialised = 0;
    if (gw_hash_key_random(&g->key) != GW_OK)
        goto fail;
    g->window_s = window_s;
    g->window_us = (int64_t)window_s * 1000000;
    g->shard_count = gw_shard_count_for(max_entries, MIN_ENTRIES_PER_SHARD, MAX_SHARDS);
    g->shard_shift = 64;
    for (unsigned n = g->shard_count; n > 1; n >>= 1)
        g->shard_shift--;
    g->shards = aligned_alloc(CACHE_LINE, g->shard_count * sizeof *g->shards);
    if (!g->shards)
        goto fail;
    size_t capacity = shard_capacity(max_entries, g->shard_count);
    for (; initialised < g->shard_count; initialised++)
        if (shard_init(&g->shards[initialised], capacity) != GW_OK)
            goto fail;
    return g;

fail:
    for (unsigned i = 0; i < initialised; i++)
        shard_destroy(&g->shards[i]);
    free(g->shards);
    free(g);
    return NULL;
}

void gw_replay_guard_free(gw_replay_guard *g)
{
    if (!g)
        return;
    for (unsigned i = 0; i < g->shard_count; i++)
        shard_destroy(&g->shards[i]);
    free(g->shards);
    free(g);
}

/* Removes the ring's head from its bucket chain and the ring. */
static void drop_oldest(replay_shard *s)
{
    uint32_t victim = s->head;
    uint32_t *link = &s->buckets[s->ring[victim].digest & s->bucket_mask];
    while (*link != victim)
        link = &s->ring[*link].chain_next;
    *link = s->ring[victim].chain_next;
    s->head = s->head + 1 == s->capacity ? 0 : s->head + 1;
    s->count--;
}

static void purge_expired(replay_shard *s, int64_t now_us)
{
    while (s->count > 0 && s->ring[s->head].expires_us <= now_us) {
        drop_oldest(s);
        s->expired++;
    }
}

static void evict_oldest_live(replay_shard *s, int64_t window_us, int64_t now_us)
{
    int64_t first_seen_us = s->ring[s->head].expires_us - window_us;
    s->last_evicted_age_us = now_us - first_seen_us;
    s->last_eviction_at_us = now_us;
    drop_oldest(s);
    s->evicted++;
}

static int seen_within_window(const replay_shard *s, uint64_t digest, int64_t now_us)
{
    for (uint32_t i = s->buckets[digest & s->bucket_mask]; i != NO_ENTRY; i = s->ring[i].chain_next)
        if (s->ring[i].digest == digest && s->ring[i].expires_us > now_us)
            return 1;
    return 0;
}

static void remember(replay_shard *s, uint64_t digest, int64_t expires_us)
{
    uint32_t slot = s->head + s->count;
    if (slot >= s->capacity)
        slot -= s->capacity;
    uint32_t *bucket = &s->buckets[digest & s->bucket_mask];
    s->ring[slot] = (replay_entry){.digest = digest, .expires_us = expires_us, .chain_next = *bucket};
    *bucket = slot;
    s->count++;
}

gw_status gw_replay_guard_check(gw_replay_guard *g, const char *client_id, const char *message_id,
                                int64_t now_us)
{
    if (!g || !client_id || !*client_id || !message_id || !*message_id)
        return GW_ERR_INVALID_ARG;
    uint64_t digest = gw_keyed_hash_strings(&g->key, client_id, message_id);
    replay_shard *s = &g->shards[g->shard_count == 1 ? 0 : digest >> g->shard_shift];
    gw_status st = GW_OK;

    pthread_mutex_lock(&s->lock);
    purge_expired(s, now_us);
    if (seen_within_window(s, digest, now_us)) {
        s->replayed++;
        st = GW_ERR_REPLAY;
    } else {
        if (s->count == s->capacity)
            evict_oldest_live(s, g->window_us, now_us);
        remember(s, digest, now_us + g->window_us);
        s->accepted++;
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

void gw_replay_guard_stats_get(gw_replay_guard *g, gw_replay_guard_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!g)
        return;
    out->shards = g->shard_count;
    out->window_s = g->window_s;
    int64_t latest_eviction_us = 0;
    int have_eviction = 0;
    for (unsigned i = 0; i < g->shard_count; i++) {
        replay_shard *s = &g->shards[i];
        pthread_mutex_lock(&s->lock);
        out->accepted += s->accepted;
        out->replayed += s->replayed;
        out->expired += s->expired;
        out->evicted += s->evicted;
        out->entries += s->count;
        out->capacity += s->capacity;
        if (s->evicted > 0 && (!have_eviction || s->last_eviction_at_us > latest_eviction_us)) {
            have_eviction = 1;
            latest_eviction_us = s->last_eviction_at_us;
            out->last_evicted_age_us = s->last_evicted_age_us;
        }
        pthread_mutex_unlock(&s->lock);
    }
}
