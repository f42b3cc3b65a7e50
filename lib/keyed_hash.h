/*
 * keyed_hash.h — SipHash-2-4 under a secret key, for hash tables fed by untrusted input.
 *
 * Tables keyed by what a caller sends (client ids, message ids) must not let that caller choose
 * keys that all land in one bucket or one shard: with a per-table random key drawn at start-up,
 * nobody outside the process can predict where a key lands. SipHash-2-4 is the 64-bit keyed PRF
 * of Aumasson and Bernstein (the one OpenSSL exposes as EVP_MAC "SIPHASH" with size 8); the test
 * checks this implementation against OpenSSL's.
 */
#ifndef PIDE_GW_KEYED_HASH_H
#define PIDE_GW_KEYED_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct gw_hash_key {
    uint64_t k0, k1;
} gw_hash_key;

/* A fresh key from the OpenSSL CSPRNG. GW_ERR_INTERNAL when it cannot be seeded. */
gw_status gw_hash_key_random(gw_hash_key *key);
/* The key from 16 bytes, little-endian halves (the SipHash paper's convention). */
void gw_hash_key_from_bytes(gw_hash_key *key, const unsigned char bytes[16]);

/* Incremental hashing: init, any number of updates, final. */
typedef struct gw_siphash_state {
    uint64_t v0, v1, v2, v3;
    uint64_t tail;      /* bytes not yet forming a full 8-byte word */
    size_t tail_len;
    uint64_t total_len;
} gw_siphash_state;

void gw_siphash_init(gw_siphash_state *h, const gw_hash_key *key);
void gw_siphash_update(gw_siphash_state *h, const void *data, size_t len);
uint64_t gw_siphash_final(gw_siphash_state *h);

uint64_t gw_siphash(const gw_hash_key *key, const void *data, size_t len);

/* Hash of a string, or of a pair of strings. The first string is length-prefixed so that
 * ("ab","c") and ("a","bc") are different inputs. `second` may be NULL (same as a 1-tuple). */
uint64_t gw_keyed_hash_strings(const gw_hash_key *key, const char *first, const char *second);

/* How many shards (a power of two, 1..max_shards) a table of `capacity` entries is split into so
 * that each shard holds at least `min_per_shard`: small tables stay exact (one shard), large ones
 * spread lock contention. The shard of a hash is its top bits: hash >> (64 - log2(shards)). */
unsigned gw_shard_count_for(size_t capacity, size_t min_per_shard, unsigned max_shards);

#endif
