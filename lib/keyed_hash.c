/* keyed_hash.c — SipHash-2-4 (incremental), per-table random keys and the shard-count rule. */
#include "keyed_hash.h"

#include <string.h>

#include <openssl/rand.h>

gw_status gw_hash_key_random(gw_hash_key *key)
{
    unsigned char bytes[16];
    if (!key || RAND_bytes(bytes, sizeof bytes) != 1)
        return GW_ERR_INTERNAL;
    gw_hash_key_from_bytes(key, bytes);
    return GW_OK;
}

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void gw_hash_key_from_bytes(gw_hash_key *key, const unsigned char bytes[16])
{
    key->k0 = load_le64(bytes);
    key->k1 = load_le64(bytes + 8);
}

static inline uint64_t rotl64(uint64_t x, unsigned b) { return (x << b) | (x >> (64 - b)); }

static inline void sip_round(gw_siphash_state *h)
{
    h->v0 += h->v1;
    h->v1 = rotl64(h->v1, 13);
    h->v1 ^= h->v0;
    h->v0 = rotl64(h->v0, 32);
    h->v2 += h->v3;
    h->v3 = rotl64(h->v3, 16);
    h->v3 ^= h->v2;
    h->v0 += h->v3;
    h->v3 = rotl64(h->v3, 21);
    h->v3 ^= h->v0;
    h->v2 += h->v1;
    h->v1 = rotl64(h->v1, 17);
    h->v1 ^= h->v2;
    h->v2 = rotl64(h->v2, 32);
}

static inline void absorb_word(gw_siphash_state *h, uint64_t m)
{
    h->v3 ^= m;
    sip_round(h);
    sip_round(h);
    h->v0 ^= m;
}

void gw_siphash_init(gw_siphash_state *h, const gw_hash_key *key)
{
    /* "somepseudorandomlygeneratedbytes", the initialisation constants of the paper. */
    h->v0 = key->k0 ^ UINT64_C(0x736f6d6570736575);
    h->v1 = key->k1 ^ UINT64_C(0x646f72616e646f6d);
    h->v2 = key->k0 ^ UINT64_C(0x6c7967656e657261);
    h->v3 = key->k1 ^ UINT64_C(0x7465646279746573);
    h->tail = 0;
    h->tail_len = 0;
    h->total_len = 0;
}

void gw_siphash_update(gw_siphash_state *h, const void *data, size_t len)
{
    const unsigned char *p = data;
    h->total_len += len;
    while (len > 0 && h->tail_len > 0) {
        h->tail |= (uint64_t)*p++ << (8 * h->tail_len);
        len--;
        if (++h->tail_len == 8) {
            absorb_word(h, h->tail);
            h->tail = 0;
            h->tail_len = 0;
        }
    }
    if (len == 0)
        return; /* all went into the pending tail */
    for (; len >= 8; p += 8, len -= 8)
        absorb_word(h, load_le64(p));
    for (size_t i = 0; i < len; i++)
        h->tail |= (uint64_t)p[i] << (8 * i);
    h->tail_len = len;
}

uint64_t gw_siphash_final(gw_siphash_state *h)
{
    /* The last word carries the total length (mod 256) in its top byte. */
    absorb_word(h, h->tail | (h->total_len << 56));
    h->v2 ^= 0xff;
    sip_round(h);
    sip_round(h);
    sip_round(h);
    sip_round(h);
    return h->v0 ^ h->v1 ^ h->v2 ^ h->v3;
}

uint64_t gw_siphash(const gw_hash_key *key, const void *data, size_t len)
{
    gw_siphash_state h;
    gw_siphash_init(&h, key);
    gw_siphash_update(&h, data, len);
    return gw_siphash_final(&h);
}

uint64_t gw_keyed_hash_strings(const gw_hash_key *key, const char *first, const char *second)
{
    gw_siphash_state h;
    size_t first_len = first ? strlen(first) : 0;
    unsigned char prefix[8];
    for (int i = 0; i < 8; i++)
        prefix[i] = (unsigned char)((uint64_t)first_len >> (8 * i));
    gw_siphash_init(&h, key);
    gw_siphash_update(&h, prefix, sizeof prefix);
    gw_siphash_update(&h, first ? first : "", first_len);
    if (second)
        gw_siphash_update(&h, second, strlen(second));
    return gw_siphash_final(&h);
}

unsigned gw_shard_count_for(size_t capacity, size_t min_per_shard, unsigned max_shards)
{
    unsigned shards = 1;
    if (min_per_shard == 0)
        min_per_shard = 1;
    while (shards * 2 <= max_shards && capacity / (shards * 2) >= min_per_shard)
        shards *= 2;
    return shards;
}
