/*
 * replay_guard.c — per-client partitions of (client, message id) digests with expiry.
 *
 * Each partition keeps its entries in a ring in arrival order. Since every entry lives for the
 * same window, arrival order is expiry order: purging expired entries and evicting the oldest are
 * both "drop the ring's head", O(1) apart from unlinking it from its (short) hash chain. A full
 * partition that may grow is rebuilt at twice the size. Partitions are found through an
 * open-addressing map keyed by the client's digest, read-locked for lookups and write-locked to
 * add a partition; partitions live as long as the guard.
 */
#include "replay_guard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "keyed_hash.h"

#define NO_ENTRY UINT32_MAX
#define CACHE_LINE 64

typedef struct replay_entry {
    uint64_t digest;
    int64_t expires_us;
    uint32_t chain_next; /* next entry in the same hash bucket */
} replay_entry;

typedef struct replay_partition {
    /* Aligned so that two partitions' locks never share a cache line. */
    _Alignas(CACHE_LINE) pthread_mutex_t lock;
    uint64_t client_digest;
    replay_entry *ring;
    uint32_t *buckets;
    uint32_t capacity;
    uint32_t bucket_mask;
    uint32_t head;  /* oldest entry */
    uint32_t count;
    uint64_t accepted, replayed, expired, evicted;
    int64_t last_evicted_age_us;
    int64_t last_eviction_at_us;
} replay_partition;

struct gw_replay_guard {
    gw_hash_key key;
    int64_t window_us;
    unsigned window_s;
    size_t max_entries;
    uint32_t floor;              /* a new partition's capacity */
    atomic_size_t held;          /* entries held by all partitions */
    pthread_rwlock_t map_lock;
    replay_partition **map;      /* open addressing by client digest; NULL = free */
    size_t map_mask;
    size_t partitions;           /* in map (under map_lock) */
    atomic_size_t partition_count; /* the same, readable without the lock */
    replay_partition *overflow;  /* shared by clients beyond GW_REPLAY_MAX_PARTITIONS */
};

static uint32_t next_pow2(uint32_t n)
{
    uint32_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

/* Allocates ring and buckets for capacity entries, all buckets empty. */
static gw_status alloc_table(uint32_t capacity, replay_entry **ring, uint32_t **buckets,
                             uint32_t *mask)
{
    uint32_t nbuckets = next_pow2(capacity);
    *ring = malloc((size_t)capacity * sizeof **ring);
    *buckets = malloc((size_t)nbuckets * sizeof **buckets);
    if (!*ring || !*buckets) {
        free(*ring);
        free(*buckets);
        return GW_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < nbuckets; i++)
        (*buckets)[i] = NO_ENTRY;
    *mask = nbuckets - 1;
    return GW_OK;
}

static void partition_free(replay_partition *p)
{
    if (!p)
        return;
    free(p->ring);
    free(p->buckets);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static replay_partition *partition_new(uint64_t client_digest, uint32_t capacity)
{
    replay_partition *p = aligned_alloc(CACHE_LINE, sizeof *p);
    if (!p)
        return NULL;
    memset(p, 0, sizeof *p);
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return NULL;
    }
    p->client_digest = client_digest;
    p->capacity = capacity;
    if (alloc_table(capacity, &p->ring, &p->buckets, &p->bucket_mask) != GW_OK) {
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    return p;
}

gw_replay_guard *gw_replay_guard_new(unsigned window_s, size_t max_entries)
{
    if (window_s == 0 || window_s > GW_REPLAY_MAX_WINDOW_S || max_entries == 0 ||
        max_entries > GW_REPLAY_MAX_ENTRIES_LIMIT)
        return NULL;
    gw_replay_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    if (pthread_rwlock_init(&g->map_lock, NULL) != 0) {
        free(g);
        return NULL;
    }
    if (gw_hash_key_random(&g->key) != GW_OK)
        goto fail;
    g->window_s = window_s;
    g->window_us = (int64_t)window_s * 1000000;
    g->max_entries = max_entries;
    g->floor = max_entries < GW_REPLAY_PARTITION_FLOOR ? (uint32_t)max_entries
                                                        : GW_REPLAY_PARTITION_FLOOR;
    atomic_init(&g->held, 0);
    atomic_init(&g->partition_count, 0);
    size_t slots = 2 * (size_t)GW_REPLAY_MAX_PARTITIONS;
    g->map = calloc(slots, sizeof *g->map);
    if (!g->map)
        goto fail;
    g->map_mask = slots - 1;
    return g;

fail:
    pthread_rwlock_destroy(&g->map_lock);
    free(g);
    return NULL;
}

void gw_replay_guard_free(gw_replay_guard *g)
{
    if (!g)
        return;
    for (size_t i = 0; i <= g->map_mask; i++)
        partition_free(g->map[i]);
    partition_free(g->overflow);
    free(g->map);
    pthread_rwlock_destroy(&g->map_lock);
    free(g);
}

/* Slot of client_digest in the map, or of the free slot where it would go. */
static size_t map_slot(const gw_replay_guard *g, uint64_t client_digest)
{
    size_t i = (size_t)client_digest & g->map_mask;
    while (g->map[i] && g->map[i]->client_digest != client_digest)
        i = (i + 1) & g->map_mask;
    return i;
}

/* The client's partition, made on first use; NULL when out of memory. */
static replay_partition *partition_of(gw_replay_guard *g, const char *client_id)
{
    uint64_t cd = gw_siphash(&g->key, client_id, strlen(client_id));
    pthread_rwlock_rdlock(&g->map_lock);
    replay_partition *p = g->map[map_slot(g, cd)];
    pthread_rwlock_unlock(&g->map_lock);
    if (p)
        return p;
    pthread_rwlock_wrlock(&g->map_lock);
    size_t slot = map_slot(g, cd);
    p = g->map[slot];
    if (!p) {
        if (g->partitions < GW_REPLAY_MAX_PARTITIONS) {
            p = partition_new(cd, g->floor);
            if (p) {
                g->map[slot] = p;
                g->partitions++;
                atomic_fetch_add(&g->partition_count, 1);
            }
        } else {
            if (!g->overflow) {
                g->overflow = partition_new(0, g->floor);
                if (g->overflow)
                    atomic_fetch_add(&g->partition_count, 1);
            }
            p = g->overflow;
        }
    }
    pthread_rwlock_unlock(&g->map_lock);
    return p;
}

/* Removes the ring's head from its bucket chain and the ring. */
static void drop_oldest(gw_replay_guard *g, replay_partition *s)
{
    uint32_t victim = s->head;
    uint32_t *link = &s->buckets[s->ring[victim].digest & s->bucket_mask];
    while (*link != victim)
        link = &s->ring[*link].chain_next;
    *link = s->ring[victim].chain_next;
    s->head = s->head + 1 == s->capacity ? 0 : s->head + 1;
    s->count--;
    atomic_fetch_sub(&g->held, 1);
}

static void purge_expired(gw_replay_guard *g, replay_partition *s, int64_t now_us)
{
    while (s->count > 0 && s->ring[s->head].expires_us <= now_us) {
        drop_oldest(g, s);
        s->expired++;
    }
}

static void evict_oldest_live(gw_replay_guard *g, replay_partition *s, int64_t now_us)
{
    int64_t first_seen_us = s->ring[s->head].expires_us - g->window_us;
    s->last_evicted_age_us = now_us - first_seen_us;
    s->last_eviction_at_us = now_us;
    drop_oldest(g, s);
    s->evicted++;
}

/* A full partition may double while the guard holds fewer than max_entries, or while it holds
 * less than its fair share of them. */
static int may_grow(gw_replay_guard *g, const replay_partition *s)
{
    if ((size_t)s->capacity * 2 > (size_t)GW_REPLAY_MAX_ENTRIES_LIMIT * 2)
        return 0;
    if (atomic_load(&g->held) < g->max_entries)
        return 1;
    size_t parts = atomic_load(&g->partition_count);
    return parts > 0 && s->count < g->max_entries / parts;
}

/* Rebuilds the partition at twice its capacity, oldest entry first. */
static gw_status grow(replay_partition *s)
{
    uint32_t cap = s->capacity * 2, mask;
    replay_entry *ring;
    uint32_t *buckets;
    if (alloc_table(cap, &ring, &buckets, &mask) != GW_OK)
        return GW_ERR_NOMEM;
    for (uint32_t k = 0; k < s->count; k++) {
        uint32_t from = s->head + k;
        if (from >= s->capacity)
            from -= s->capacity;
        ring[k] = s->ring[from];
        uint32_t *bucket = &buckets[ring[k].digest & mask];
        ring[k].chain_next = *bucket;
        *bucket = k;
    }
    free(s->ring);
    free(s->buckets);
    s->ring = ring;
    s->buckets = buckets;
    s->capacity = cap;
    s->bucket_mask = mask;
    s->head = 0;
    return GW_OK;
}

static int seen_within_window(const replay_partition *s, uint64_t digest, int64_t now_us)
{
    for (uint32_t i = s->buckets[digest & s->bucket_mask]; i != NO_ENTRY; i = s->ring[i].chain_next)
        if (s->ring[i].digest == digest && s->ring[i].expires_us > now_us)
            return 1;
    return 0;
}

static void remember(gw_replay_guard *g, replay_partition *s, uint64_t digest, int64_t expires_us)
{
    uint32_t slot = s->head + s->count;
    if (slot >= s->capacity)
        slot -= s->capacity;
    uint32_t *bucket = &s->buckets[digest & s->bucket_mask];
    s->ring[slot] = (replay_entry){.digest = digest, .expires_us = expires_us, .chain_next = *bucket};
    *bucket = slot;
    s->count++;
    atomic_fetch_add(&g->held, 1);
}

gw_status gw_replay_guard_check(gw_replay_guard *g, const char *client_id, const char *message_id,
                                int64_t now_us)
{
    if (!g || !client_id || !*client_id || !message_id || !*message_id)
        return GW_ERR_INVALID_ARG;
    replay_partition *s = partition_of(g, client_id);
    if (!s)
        return GW_ERR_NOMEM;
    uint64_t digest = gw_keyed_hash_strings(&g->key, client_id, message_id);
    gw_status st = GW_OK;

    pthread_mutex_lock(&s->lock);
    purge_expired(g, s, now_us);
    if (seen_within_window(s, digest, now_us)) {
        s->replayed++;
        st = GW_ERR_REPLAY;
    } else {
        /* Only ever this client's own oldest entry is evicted. */
        if (s->count == s->capacity && !(may_grow(g, s) && grow(s) == GW_OK))
            evict_oldest_live(g, s, now_us);
        remember(g, s, digest, now_us + g->window_us);
        s->accepted++;
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

gw_status gw_replay_guard_forget(gw_replay_guard *g, const char *client_id, const char *message_id)
{
    if (!g || !client_id || !*client_id || !message_id || !*message_id)
        return GW_ERR_INVALID_ARG;
    replay_partition *s = partition_of(g, client_id);
    if (!s)
        return GW_ERR_NOMEM;
    uint64_t digest = gw_keyed_hash_strings(&g->key, client_id, message_id);
    pthread_mutex_lock(&s->lock);
    /* Expired in place (0 is before any monotonic now): lookups skip it, and the purge drops it
     * when it reaches the ring's head, so the ring stays in arrival order. */
    for (uint32_t i = s->buckets[digest & s->bucket_mask]; i != NO_ENTRY; i = s->ring[i].chain_next)
        if (s->ring[i].digest == digest)
            s->ring[i].expires_us = 0;
    pthread_mutex_unlock(&s->lock);
    return GW_OK;
}

static void add_stats(replay_partition *s, gw_replay_guard_stats *out, int *have_eviction,
                      int64_t *latest_eviction_us)
{
    pthread_mutex_lock(&s->lock);
    out->shards++;
    out->accepted += s->accepted;
    out->replayed += s->replayed;
    out->expired += s->expired;
    out->evicted += s->evicted;
    out->entries += s->count;
    out->capacity += s->capacity;
    if (s->evicted > 0 && (!*have_eviction || s->last_eviction_at_us > *latest_eviction_us)) {
        *have_eviction = 1;
        *latest_eviction_us = s->last_eviction_at_us;
        out->last_evicted_age_us = s->last_evicted_age_us;
    }
    pthread_mutex_unlock(&s->lock);
}

void gw_replay_guard_stats_get(gw_replay_guard *g, gw_replay_guard_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!g)
        return;
    out->window_s = g->window_s;
    int64_t latest_eviction_us = 0;
    int have_eviction = 0;
    pthread_rwlock_rdlock(&g->map_lock);
    for (size_t i = 0; i <= g->map_mask; i++)
        if (g->map[i])
            add_stats(g->map[i], out, &have_eviction, &latest_eviction_us);
    if (g->overflow)
        add_stats(g->overflow, out, &have_eviction, &latest_eviction_us);
    pthread_rwlock_unlock(&g->map_lock);
}
