/*
 * credential.c — legacy PIDE credentials: the check of a member's official against the configured
 * hash, and the verifier cache that spares PBKDF2 on repeated successful checks (and lets
 * concurrent checks of one key share a single PBKDF2 run). The hash format is password_hash.c's.
 */
#include "credential.h"

#include "clock.h"
#include "password_hash.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/* A RUC is 11 digits and a DNI 8: anything far longer is refused before any work. */
#define MAX_ID_LENGTH 64

/* ---- the verifier cache: set-associative, 4 ways, oldest entry of a full set evicted ----
 *
 * The sets are spread over shards with a mutex each, so that checks of different callers rarely
 * contend. A shard also lists its "flights": the keys whose PBKDF2 is running right now. A miss
 * on a key already in flight waits for that run's result instead of running PBKDF2 itself
 * (single flight): without it, a cold start with many workers ran one PBKDF2 per worker for the
 * same caller until the first one had filled the cache. */

#define CACHE_WAYS 4
#define CACHE_DEFAULT_CAPACITY 4096
#define CACHE_MAX_SHARDS 16
#define DIGEST_BYTES 32

typedef struct cache_entry {
    unsigned char digest[DIGEST_BYTES];
    uint64_t stamp; /* insertion order within the shard; 0 = empty */
} cache_entry;

/* One PBKDF2 run that other checks of the same key wait for. It lives until its owner has
 * published the result and the last waiter has read it (whoever leaves last frees it). */
typedef struct flight {
    struct flight *next;
    unsigned char digest[DIGEST_BYTES];
    pthread_cond_t done_cond;
    gw_status result; /* valid once done */
    int done;
    unsigned waiters;
} flight;

/* Everything here is guarded by `lock`. */
typedef struct cache_shard {
    pthread_mutex_t lock;
    flight *flights; /* keys in flight: at most one per checking thread, so bounded by workers */
    uint64_t next_stamp;
    size_t used;
    size_t in_flight;
    size_t waiting;
} cache_shard;

struct gw_credential_cache {
    unsigned char key[32];
    cache_entry *entries;  /* set_count * CACHE_WAYS */
    size_t set_count;      /* a power of two */
    cache_shard *shards;   /* shard_count, a power of two no larger than set_count */
    size_t shard_count;
    size_t shards_ready;   /* shards whose mutex is initialised */
    pthread_condattr_t cond_attr; /* CLOCK_MONOTONIC, so that a clock step cannot stretch a wait */
    int cond_attr_ready;
    /* Set before the cache is shared between threads. */
    unsigned wait_limit_ms;
    gw_credential_flight_hook *flight_hook;
    void *flight_hook_arg;
    atomic_ulong hits;
    atomic_ulong pbkdf2_runs;
    atomic_ulong pbkdf2_waits;
    atomic_ulong wait_timeouts;
    atomic_ulong evictions;
};

/* Frees a cache however far its construction got. */
static void cache_destroy(gw_credential_cache *c)
{
    for (size_t i = 0; i < c->shards_ready; i++)
        pthread_mutex_destroy(&c->shards[i].lock);
    if (c->cond_attr_ready)
        pthread_condattr_destroy(&c->cond_attr);
    if (c->entries)
        OPENSSL_cleanse(c->entries, c->set_count * CACHE_WAYS * sizeof *c->entries);
    free(c->entries);
    free(c->shards);
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

gw_credential_cache *gw_credential_cache_new(size_t capacity)
{
    if (capacity == 0)
        capacity = CACHE_DEFAULT_CAPACITY;
    size_t sets = 1;
    while (sets * CACHE_WAYS < capacity && sets < (SIZE_MAX / 2) / CACHE_WAYS)
        sets *= 2;

    gw_credential_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->set_count = sets;
    c->shard_count = sets < CACHE_MAX_SHARDS ? sets : CACHE_MAX_SHARDS;
    c->entries = calloc(sets * CACHE_WAYS, sizeof *c->entries);
    c->shards = calloc(c->shard_count, sizeof *c->shards);
    if (!c->entries || !c->shards || RAND_bytes(c->key, sizeof c->key) != 1 ||
        pthread_condattr_init(&c->cond_attr) != 0)
        goto fail;
    c->cond_attr_ready = 1;
    if (pthread_condattr_setclock(&c->cond_attr, CLOCK_MONOTONIC) != 0)
        goto fail;
    for (; c->shards_ready < c->shard_count; c->shards_ready++) {
        cache_shard *s = &c->shards[c->shards_ready];
        if (pthread_mutex_init(&s->lock, NULL) != 0)
            goto fail;
        s->next_stamp = 1;
    }
    c->wait_limit_ms = GW_CREDENTIAL_DEFAULT_WAIT_MS;
    atomic_init(&c->hits, 0);
    atomic_init(&c->pbkdf2_runs, 0);
    atomic_init(&c->pbkdf2_waits, 0);
    atomic_init(&c->wait_timeouts, 0);
    atomic_init(&c->evictions, 0);
    return c;
fail:
    cache_destroy(c);
    return NULL;
}

void gw_credential_cache_free(gw_credential_cache *c)
{
    if (c)
        cache_destroy(c);
}

void gw_credential_cache_set_wait_limit(gw_credential_cache *c, unsigned milliseconds)
{
    if (c)
        c->wait_limit_ms = milliseconds;
}

void gw_credential_cache_set_flight_hook(gw_credential_cache *c, gw_credential_flight_hook *hook,
                                         void *arg)
{
    if (!c)
        return;
    c->flight_hook = hook;
    c->flight_hook_arg = arg;
}

void gw_credential_cache_stats_get(gw_credential_cache *c, gw_credential_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    out->hits = atomic_load(&c->hits);
    out->pbkdf2_runs = atomic_load(&c->pbkdf2_runs);
    out->pbkdf2_waits = atomic_load(&c->pbkdf2_waits);
    out->wait_timeouts = atomic_load(&c->wait_timeouts);
    out->evictions = atomic_load(&c->evictions);
    for (size_t i = 0; i < c->shard_count; i++) {
        cache_shard *s = &c->shards[i];
        pthread_mutex_lock(&s->lock);
        out->entries += s->used;
        out->in_flight += s->in_flight;
        out->waiting += s->waiting;
        pthread_mutex_unlock(&s->lock);
    }
}

static void append_field(unsigned char **p, const char *s)
{
    uint32_t n = (uint32_t)strlen(s);
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    memcpy(*p, len, 4);
    memcpy(*p + 4, s, n);
    *p += 4 + n;
}

/* HMAC over length-prefixed fields, so that ("1","23") and ("12","3") never collide. */
static gw_status cache_digest(const gw_credential_cache *c, const char *ruc, const char *user,
                              const char *password, const char *encoded_hash,
                              unsigned char out[DIGEST_BYTES])
{
    size_t total = 16 + strlen(ruc) + strlen(user) + strlen(password) + strlen(encoded_hash);
    unsigned char *msg = malloc(total);
    if (!msg)
        return GW_ERR_NOMEM;
    unsigned char *p = msg;
    append_field(&p, ruc);
    append_field(&p, user);
    append_field(&p, password);
    append_field(&p, encoded_hash);
    unsigned int out_len = 0;
    gw_status st = HMAC(EVP_sha256(), c->key, sizeof c->key, msg, total, out, &out_len) &&
                           out_len == DIGEST_BYTES
                       ? GW_OK
                       : GW_ERR_INTERNAL;
    OPENSSL_cleanse(msg, total);
    free(msg);
    return st;
}

static size_t set_index(const gw_credential_cache *c, const unsigned char *digest)
{
    uint64_t h;
    memcpy(&h, digest, sizeof h);
    return (size_t)(h & (c->set_count - 1));
}

static cache_entry *set_of(const gw_credential_cache *c, const unsigned char *digest)
{
    return &c->entries[set_index(c, digest) * CACHE_WAYS];
}

/* Every set belongs to exactly one shard, so a set is only ever touched under its shard's lock. */
static cache_shard *shard_of(const gw_credential_cache *c, const unsigned char *digest)
{
    return &c->shards[set_index(c, digest) & (c->shard_count - 1)];
}

/* With the shard's lock held. */
static int set_contains(const gw_credential_cache *c, const unsigned char *digest)
{
    int found = 0;
    cache_entry *set = set_of(c, digest);
    for (int i = 0; i < CACHE_WAYS; i++)
        if (set[i].stamp && CRYPTO_memcmp(set[i].digest, digest, DIGEST_BYTES) == 0)
            found = 1;
    return found;
}

/* With the shard's lock held. */
static void set_insert(gw_credential_cache *c, cache_shard *s, const unsigned char *digest)
{
    cache_entry *set = set_of(c, digest);
    cache_entry *slot = NULL;
    for (int i = 0; i < CACHE_WAYS; i++) {
        if (set[i].stamp && CRYPTO_memcmp(set[i].digest, digest, DIGEST_BYTES) == 0)
            return; /* a check that gave up waiting verified the same triple meanwhile */
        if (!set[i].stamp && !slot)
            slot = &set[i];
    }
    if (!slot) {
        slot = &set[0];
        for (int i = 1; i < CACHE_WAYS; i++)
            if (set[i].stamp < slot->stamp)
                slot = &set[i];
        atomic_fetch_add(&c->evictions, 1);
    } else {
        s->used++;
    }
    memcpy(slot->digest, digest, DIGEST_BYTES);
    slot->stamp = s->next_stamp++;
}

/* ---- flights (all with the shard's lock held) ---- */

static flight *flight_find(const cache_shard *s, const unsigned char *digest)
{
    flight *found = NULL;
    for (flight *f = s->flights; f; f = f->next)
        if (CRYPTO_memcmp(f->digest, digest, DIGEST_BYTES) == 0)
            found = f;
    return found;
}

/* NULL when memory is short: the caller then runs PBKDF2 without letting others wait for it. */
static flight *flight_start(const gw_credential_cache *c, cache_shard *s,
                            const unsigned char *digest)
{
    flight *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    if (pthread_cond_init(&f->done_cond, &c->cond_attr) != 0) {
        free(f);
        return NULL;
    }
    memcpy(f->digest, digest, DIGEST_BYTES);
    f->next = s->flights;
    s->flights = f;
    s->in_flight++;
    return f;
}

static void flight_free(flight *f)
{
    pthread_cond_destroy(&f->done_cond);
    OPENSSL_cleanse(f, sizeof *f);
    free(f);
}

/* Publishes the owner's result. The flight leaves the list at once, so a check arriving after
 * this point is a new request: a failure is shared only with those already waiting, and a new
 * guess costs a PBKDF2 of its own. */
static void flight_finish(cache_shard *s, flight *f, gw_status result)
{
    for (flight **p = &s->flights; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    s->in_flight--;
    f->result = result;
    f->done = 1;
    if (f->waiters)
        pthread_cond_broadcast(&f->done_cond);
    else
        flight_free(f);
}

/* Waits (releasing the shard's lock meanwhile) for `f` to finish, but no longer than the wait
 * limit. 1 with the flight's result in *result; 0 when the wait was given up: a PBKDF2 run
 * never takes seconds, so an owner that does is starved or stuck and the caller is better off
 * computing on its own than queueing behind it. */
static int flight_wait(const gw_credential_cache *c, cache_shard *s, flight *f, gw_status *result)
{
    f->waiters++;
    s->waiting++;
    struct timespec deadline = gw_monotonic_deadline_ms((long)c->wait_limit_ms);
    while (!f->done && !gw_monotonic_reached(&deadline))
        (void)pthread_cond_timedwait(&f->done_cond, &s->lock, &deadline);
    int answered = f->done;
    if (answered)
        *result = f->result;
    s->waiting--;
    if (--f->waiters == 0 && f->done)
        flight_free(f);
    return answered;
}

/* ---- the check ---- */

static const gw_legacy_credential *find_credential(const gw_config *cfg, const char *ruc,
                                                   const char *user_dni)
{
    const gw_member *m = gw_config_find_member(cfg, ruc);
    if (!m)
        return NULL;
    for (size_t i = 0; i < m->credential_count; i++)
        if (strcmp(m->credentials[i].user_dni, user_dni) == 0)
            return &m->credentials[i];
    return NULL;
}

/* The PBKDF2 part of a check; `encoded_hash` NULL means an unknown member or user. */
static gw_status run_pbkdf2_check(const char *encoded_hash, const char *password)
{
    if (!encoded_hash) {
        gw_password_hash_spend(password);
        return GW_ERR_AUTHENTICATION;
    }
    return gw_password_hash_verify(encoded_hash, password);
}

static gw_status check_through_cache(gw_credential_cache *c, const unsigned char *digest,
                                     const char *encoded_hash, const char *password)
{
    cache_shard *s = shard_of(c, digest);
    flight *mine = NULL;
    gw_status st;
    pthread_mutex_lock(&s->lock);
    if (set_contains(c, digest)) {
        atomic_fetch_add(&c->hits, 1);
        st = GW_OK;
        goto unlock;
    }
    flight *running = flight_find(s, digest);
    if (running) {
        if (flight_wait(c, s, running, &st)) {
            atomic_fetch_add(&c->pbkdf2_waits, 1);
            goto unlock;
        }
        atomic_fetch_add(&c->wait_timeouts, 1);
    } else {
        mine = flight_start(c, s, digest);
    }
    pthread_mutex_unlock(&s->lock);

    atomic_fetch_add(&c->pbkdf2_runs, 1);
    st = run_pbkdf2_check(encoded_hash, password);
    if (mine && c->flight_hook)
        c->flight_hook(c->flight_hook_arg);

    pthread_mutex_lock(&s->lock);
    if (st == GW_OK)
        set_insert(c, s, digest);
    if (mine)
        flight_finish(s, mine, st);
unlock:
    pthread_mutex_unlock(&s->lock);
    return st;
}

gw_status gw_credential_check(gw_credential_cache *c, const gw_config *cfg, const char *ruc,
                              const char *user_dni, const char *password)
{
    if (!cfg || !ruc || !user_dni || !password)
        return GW_ERR_AUTHENTICATION;
    if (strlen(ruc) > MAX_ID_LENGTH || strlen(user_dni) > MAX_ID_LENGTH ||
        strlen(password) > GW_PASSWORD_MAX_LENGTH)
        return GW_ERR_AUTHENTICATION;

    const gw_legacy_credential *cred = find_credential(cfg, ruc, user_dni);
    const char *encoded_hash = cred ? cred->password_hash : NULL;
    if (!c)
        return run_pbkdf2_check(encoded_hash, password);

    /* An unknown member or user gets a key too, with an empty hash (which no configured hash can
     * be): concurrent guesses at it then share one PBKDF2 exactly like guesses at a known user,
     * so a burst of requests takes as long either way. Failures are never cached. */
    unsigned char digest[DIGEST_BYTES];
    gw_status st = cache_digest(c, ruc, user_dni, password, encoded_hash ? encoded_hash : "",
                                digest);
    if (st == GW_OK)
        st = check_through_cache(c, digest, encoded_hash, password);
    OPENSSL_cleanse(digest, sizeof digest);
    return st;
}
