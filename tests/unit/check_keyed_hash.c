/* check_keyed_hash.c — SipHash-2-4 against OpenSSL's own, incremental = one-shot, pair framing,
 * shard-count rule. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "check_run.h"
#include "keyed_hash.h"

/* OpenSSL's SIPHASH MAC with an 8-byte output is SipHash-2-4; its output is the 64-bit value in
 * little-endian byte order. */
static uint64_t openssl_siphash(const unsigned char key[16], const unsigned char *msg, size_t len)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    ck_assert_ptr_nonnull(mac);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    ck_assert_ptr_nonnull(ctx);
    size_t size = 8;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                           OSSL_PARAM_construct_end()};
    ck_assert_int_eq(EVP_MAC_init(ctx, key, 16, params), 1);
    ck_assert_int_eq(EVP_MAC_update(ctx, msg, len), 1);
    unsigned char out[8];
    size_t out_len = 0;
    ck_assert_int_eq(EVP_MAC_final(ctx, out, &out_len, sizeof out), 1);
    ck_assert_uint_eq(out_len, 8);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | out[i];
    return v;
}

START_TEST(matches_openssl_for_every_length_and_random_keys)
{
    unsigned char key_bytes[16], msg[130];
    for (int round = 0; round < 4; round++) {
        ck_assert_int_eq(RAND_bytes(key_bytes, sizeof key_bytes), 1);
        ck_assert_int_eq(RAND_bytes(msg, sizeof msg), 1);
        gw_hash_key key;
        gw_hash_key_from_bytes(&key, key_bytes);
        for (size_t len = 0; len <= sizeof msg; len++)
            ck_assert_uint_eq(gw_siphash(&key, msg, len), openssl_siphash(key_bytes, msg, len));
    }
}
END_TEST

START_TEST(incremental_updates_equal_one_shot)
{
    unsigned char msg[100];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)(i * 7 + 3);
    gw_hash_key key;
    ck_assert_int_eq(gw_hash_key_random(&key), GW_OK);
    uint64_t whole = gw_siphash(&key, msg, sizeof msg);
    /* Every chunk size from 1 to 17 crosses the 8-byte word boundary differently. */
    for (size_t chunk = 1; chunk <= 17; chunk++) {
        gw_siphash_state h;
        gw_siphash_init(&h, &key);
        for (size_t at = 0; at < sizeof msg; at += chunk)
            gw_siphash_update(&h, msg + at, at + chunk <= sizeof msg ? chunk : sizeof msg - at);
        ck_assert_uint_eq(gw_siphash_final(&h), whole);
    }
}
END_TEST

START_TEST(pair_framing_separates_split_points_and_keys_differ)
{
    gw_hash_key key, other;
    ck_assert_int_eq(gw_hash_key_random(&key), GW_OK);
    ck_assert_int_eq(gw_hash_key_random(&other), GW_OK);
    ck_assert_uint_ne(gw_keyed_hash_strings(&key, "ab", "c"), gw_keyed_hash_strings(&key, "a", "bc"));
    ck_assert_uint_ne(gw_keyed_hash_strings(&key, "abc", NULL), gw_keyed_hash_strings(&key, "ab", "c"));
    ck_assert_uint_eq(gw_keyed_hash_strings(&key, "abc", NULL), gw_keyed_hash_strings(&key, "abc", ""));
    ck_assert_uint_eq(gw_keyed_hash_strings(&key, "20100070970", "m-1"),
                      gw_keyed_hash_strings(&key, "20100070970", "m-1"));
    /* A per-table key: another table places the same input elsewhere. */
    ck_assert_uint_ne(gw_keyed_hash_strings(&key, "20100070970", "m-1"),
                      gw_keyed_hash_strings(&other, "20100070970", "m-1"));
}
END_TEST

START_TEST(shard_count_keeps_the_minimum_per_shard)
{
    ck_assert_uint_eq(gw_shard_count_for(1, 1024, 64), 1);
    ck_assert_uint_eq(gw_shard_count_for(2047, 1024, 64), 1);
    ck_assert_uint_eq(gw_shard_count_for(2048, 1024, 64), 2);
    ck_assert_uint_eq(gw_shard_count_for(80000, 1024, 64), 64);
    ck_assert_uint_eq(gw_shard_count_for(1000000, 1024, 64), 64);
    ck_assert_uint_eq(gw_shard_count_for(10000, 256, 64), 32);
    ck_assert_uint_eq(gw_shard_count_for(10, 0, 8), 8);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("keyed_hash");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, matches_openssl_for_every_length_and_random_keys);
    tcase_add_test(tc, incremental_updates_equal_one_shot);
    tcase_add_test(tc, pair_framing_separates_split_points_and_keys_differ);
    tcase_add_test(tc, shard_count_keeps_the_minimum_per_shard);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
