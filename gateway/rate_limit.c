/*
 * rate_limit.c — sharded token buckets with an LRU list per shard for bounded memory.
 *
 * Tokens are refilled lazily on each take from the time elapsed since the bucket's last update,
 * so an idle client costs nothing until it calls again.
 */
#include "rate_limit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "keyed_hash.h"

#define NO_BUCKET UINT32_MAX
#define MAX_SHARDS 64u
#define MIN_CLIENTS_PER_SHARD 256u
#define CACHE_LINE 64

typedef struct rate_bucket {
    uint64_t digest;
    double tokens;
    int64_t updated_us;
    double rate_per_s;
    double burst;
    uint32_t chain_next; /* hash chain while in use, free list otherwise */
    uint32_t lru_newer, lru_older;
} rate_bucket;

typedef struct rate_shard {
    _Alignas(CACHE_LINE) pthread_mutex_t lock;
    rate_bucket *buckets;
    uint32_t *chains;
    uint32_t capacity, chain_mask, count;
    uint32_t free_head;
    uint32_t lru_newest, lru_oldest;
    uint64_t allowed, limited, refused_table_full, evicted_idle;
} rate_shard;

typedef struct rate_override {
    uint64_t digest;
    char *client_id;
    double rate_per_s, burst;
} rate_override;

struct gw_rate_limiter {
    gw_hash_key key;
    double rate_per_s, burst;
    unsigned shard_count, shard_shift;
    rate_shard *shards;
    rate_override *overrides; /* sorted by digest; read-only once threads share the limiter */
    size_t override_count, override_cap;
};

static int valid_limits(double rate_per_s, double burst)
{
    /* Written so that NaN fails every comparison. */
    return rate_per_s > 0 && rate_per_s <= GW_RATE_MAX_PER_S && burst >= 1 &&
           burst <= GW_RATE_MAX_BURST;
}

static uint32_t next_pow2(uint32_t n)
{
    uint32_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

static void shard_destroy(rate_shard *s)
{
    free(s->buckets);
    free(s->chains);
    pthread_mutex_destroy(&s->lock);
}

static gw_status shard_init(rate_shard *s, size_t capacity)
{
    memset(s, 0, sizeof *s);
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        return GW_ERR_INTERNAL;
    s->capacity = (uint32_t)capacity;
    uint32_t nchains = next_pow2(s->capacity);
    s->chain_mask = nchains - 1;
    s->buckets = malloc(capacity * sizeof *s->buckets);
    s->chains = malloc(nchains * sizeof *s->chains);
    if (!s->buckets || !s->chains) {
        shard_destroy(s);
        return GW_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < nchains; i++)
        s->chains[i] = NO_BUCKET;
    for (uint32_t i = 0; i < s->capacity; i++)
        s->buckets[i].chain_next = i + 1 < s->capacity ? i + 1 : NO_BUCKET;
    s->free_head = 0;
    s->lru_newest = s->lru_oldest = NO_BUCKET;
    return GW_OK;
}

gw_rate_limiter *gw_rate_limiter_new(double rate_per_s, double burst, size_t max_clients)
{
    if (!valid_limits(rate_per_s, burst) || max_clients == 0 ||
        max_clients > GW_RATE_MAX_CLIENTS_LIMIT)
        return NULL;
    gw_rate_limiter *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    unsigned initialised = 0;
    if (gw_hash_key_random(&l->key) != GW_OK)
        goto fail;
    l->rate_per_s = rate_per_s;
    l->burst = burst;
    l->shard_count = gw_shard_count_for(max_clients, MIN_CLIENTS_PER_SHARD, MAX_SHARDS);
    l->shard_shift = 64;
    for (unsigned n = l->shard_count; n > 1; n >>= 1)
        l->shard_shift--;
    l->shards = aligned_alloc(CACHE_LINE, l->shard_count * sizeof *l->shards);
    if (!l->shards)
        goto fail;
    /* Same rule as the replay guard: exact with one shard, 25 % slack for uneven hashing. */
    size_t capacity = max_clients;
    if (l->shard_count > 1) {
        size_t share = (max_clients + l->shard_count - 1) / l->shard_count;
        capacity = share + share / 4;
    }
    for (; initialised < l->shard_count; initialised++)
        if (shard_init(&l->shards[initialised], capacity) != GW_OK)
            goto fail;
    return l;

fail:
    for (unsigned i = 0; i < initialised; i++)
        shard_destroy(&l->shards[i]);
    free(l->shards);
    free(l);
    return NULL;
}

void gw_rate_limiter_free(gw_rate_limiter *l)
{
    if (!l)
        return;
    for (unsigned i = 0; i < l->shard_count; i++)
        shard_destroy(&l->shards[i]);
    for (size_t i = 0; i < l->override_count; i++)
        free(l->overrides[i].client_id);
    free(l->overrides);
    free(l->shards);
    free(l);
}

/* Index of the first override whose digest is >= digest. */
static size_t override_lower_bound(const gw_rate_limiter *l, uint64_t digest)
{
    size_t lo = 0, hi = l->override_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->overrides[mid].digest < digest)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const rate_override *override_find(const gw_rate_limiter *l, uint64_t digest,
                                          const char *client_id)
{
    for (size_t i = override_lower_bound(l, digest);
         i < l->override_count && l->overrides[i].digest == digest; i++)
        if (strcmp(l->overrides[i].client_id, client_id) == 0)
            return &l->overrides[i];
    return NULL;
}

gw_status gw_rate_limiter_set_client(gw_rate_limiter *l, const char *client_id, double rate_per_s,
                                     double burst)
{
    if (!l || !client_id || !*client_id || !valid_limits(rate_per_s, burst))
        return GW_ERR_INVALID_ARG;
    uint64_t digest = gw_keyed_hash_strings(&l->key, client_id, NULL);
    rate_override *existing = (rate_override *)override_find(l, digest, client_id);
    if (existing) {
        existing->rate_per_s = rate_per_s;
        existing->burst = burst;
        return GW_OK;
    }
    if (l->override_count == l->override_cap) {
        size_t cap = l->override_cap ? l->override_cap * 2 : 16;
        rate_override *grown = realloc(l->overrides, cap * sizeof *grown);
        if (!grown)
            return GW_ERR_NOMEM;
        l->overrides = grown;
        l->override_cap = cap;
    }
    char *id_copy = strdup(client_id);
    if (!id_copy)
        return GW_ERR_NOMEM;
    size_t at = override_lower_bound(l, digest);
    memmove(&l->overrides[at + 1], &l->overrides[at],
            (l->override_count - at) * sizeof *l->overrides);
    l->overrides[at] = (rate_override){.digest = digest, .client_id = id_copy,
                                       .rate_per_s = rate_per_s, .burst = burst};
    l->override_count++;
    return GW_OK;
}

static void lru_unlink(rate_shard *s, uint32_t i)
{
    rate_bucket *b = &s->buckets[i];
    if (b->lru_newer != NO_BUCKET)
        s->buckets[b->lru_newer].lru_older = b->lru_older;
    else
        s->lru_newest = b->lru_older;
    if (b->lru_older != NO_BUCKET)
        s->buckets[b->lru_older].lru_newer = b->lru_newer;
    else
        s->lru_oldest = b->lru_newer;
}

static void lru_push_newest(rate_shard *s, uint32_t i)
{
    rate_bucket *b = &s->buckets[i];
    b->lru_newer = NO_BUCKET;
    b->lru_older = s->lru_newest;
    if (s->lru_newest != NO_BUCKET)
        s->buckets[s->lru_newest].lru_newer = i;
    s->lru_newest = i;
    if (s->lru_oldest == NO_BUCKET)
        s->lru_oldest = i;
}

static uint32_t bucket_find(const rate_shard *s, uint64_t digest)
{
    uint32_t i = s->chains[digest & s->chain_mask];
    while (i != NO_BUCKET && s->buckets[i].digest != digest)
        i = s->buckets[i].chain_next;
    return i;
}

static void bucket_release(rate_shard *s, uint32_t i)
{
    uint32_t *link = &s->chains[s->buckets[i].digest & s->chain_mask];
    while (*link != i)
        link = &s->buckets[*link].chain_next;
    *link = s->buckets[i].chain_next;
    lru_unlink(s, i);
    s->buckets[i].chain_next = s->free_head;
    s->free_head = i;
    s->count--;
}

static void refill(rate_bucket *b, int64_t now_us)
{
    if (now_us <= b->updated_us)
        return;
    b->tokens += (double)(now_us - b->updated_us) * b->rate_per_s / 1e6;
    if (b->tokens > b->burst)
        b->tokens = b->burst;
    b->updated_us = now_us;
}

/* Makes room for one more bucket: GW_OK, or GW_ERR_RATE_LIMITED with the time until the least
 * recently used bucket will have refilled (and so can be dropped without losing anything). */
static gw_status make_room(rate_shard *s, int64_t now_us, double *retry_after_s)
{
    if (s->count < s->capacity)
        return GW_OK;
    uint32_t oldest = s->lru_oldest;
    rate_bucket *b = &s->buckets[oldest];
    refill(b, now_us);
    if (b->tokens >= b->burst) {
        bucket_release(s, oldest);
        s->evicted_idle++;
        return GW_OK;
    }
    *retry_after_s = (b->burst - b->tokens) / b->rate_per_s;
    return GW_ERR_RATE_LIMITED;
}

static uint32_t bucket_create(const gw_rate_limiter *l, rate_shard *s, uint64_t digest,
                              const char *client_id, int64_t now_us)
{
    const rate_override *o = l->override_count ? override_find(l, digest, client_id) : NULL;
    uint32_t i = s->free_head;
    rate_bucket *b = &s->buckets[i];
    s->free_head = b->chain_next;
    b->digest = digest;
    b->rate_per_s = o ? o->rate_per_s : l->rate_per_s;
    b->burst = o ? o->burst : l->burst;
    b->tokens = b->burst;
    b->updated_us = now_us;
    b->chain_next = s->chains[digest & s->chain_mask];
    s->chains[digest & s->chain_mask] = i;
    lru_push_newest(s, i);
    s->count++;
    return i;
}

gw_status gw_rate_limit_take(gw_rate_limiter *l, const char *client_id, int64_t now_us,
                             double *retry_after_s)
{
    if (!l || !client_id || !*client_id)
        return GW_ERR_INVALID_ARG;
    uint64_t digest = gw_keyed_hash_strings(&l->key, client_id, NULL);
    rate_shard *s = &l->shards[l->shard_count == 1 ? 0 : digest >> l->shard_shift];
    double retry = 0;
    gw_status st = GW_OK;

    pthread_mutex_lock(&s->lock);
    uint32_t i = bucket_find(s, digest);
    if (i == NO_BUCKET) {
        st = make_room(s, now_us, &retry);
        if (st != GW_OK) {
            s->refused_table_full++;
            goto unlock;
        }
        i = bucket_create(l, s, digest, client_id, now_us);
    } else {
        lru_unlink(s, i);
        lru_push_newest(s, i);
    }
    rate_bucket *b = &s->buckets[i];
    refill(b, now_us);
    if (b->tokens >= 1) {
        b->tokens -= 1;
        s->allowed++;
    } else {
        retry = (1 - b->tokens) / b->rate_per_s;
        s->limited++;
        st = GW_ERR_RATE_LIMITED;
    }
unlock:
    pthread_mutex_unlock(&s->lock);
    if (retry_after_s)
        *retry_after_s = retry;
    return st;
}

void gw_rate_limiter_stats_get(gw_rate_limiter *l, gw_rate_limiter_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!l)
        return;
    out->shards = l->shard_count;
    out->overrides = l->override_count;
    for (unsigned i = 0; i < l->shard_count; i++) {
        rate_shard *s = &l->shards[i];
        pthread_mutex_lock(&s->lock);
        out->allowed += s->allowed;
        out->limited += s->limited;
        out->refused_table_full += s->refused_table_full;
        out->evicted_idle += s->evicted_idle;
        out->clients += s->count;
        out->capacity += s->capacity;
        pthread_mutex_unlock(&s->lock);
    }
}
