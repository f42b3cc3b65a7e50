/* check_arena.c — per-exchange arena: alignment, growth, large blocks, reset reuse. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "check_run.h"

START_TEST(allocations_are_aligned_and_distinct)
{
    gw_arena a;
    gw_arena_init(&a, 256);
    char *p1 = gw_arena_alloc(&a, 3);
    char *p2 = gw_arena_alloc(&a, 5);
    ck_assert_ptr_nonnull(p1);
    ck_assert_ptr_nonnull(p2);
    ck_assert_uint_eq((uintptr_t)p1 % _Alignof(max_align_t), 0);
    ck_assert_uint_eq((uintptr_t)p2 % _Alignof(max_align_t), 0);
    ck_assert_ptr_ne(p1, p2);
    memset(p1, 'a', 3);
    memset(p2, 'b', 5);
    ck_assert_int_eq(p1[2], 'a');
    gw_arena_destroy(&a);
}
END_TEST

START_TEST(grows_past_one_block_and_keeps_data)
{
    gw_arena a;
    gw_arena_init(&a, 128);
    char *ptrs[100];
    for (int i = 0; i < 100; i++) {
        ptrs[i] = gw_arena_printf(&a, "value-%d", i);
        ck_assert_ptr_nonnull(ptrs[i]);
    }
    for (int i = 0; i < 100; i++) {
        char want[32];
        snprintf(want, sizeof want, "value-%d", i);
        ck_assert_str_eq(ptrs[i], want);
    }
    gw_arena_destroy(&a);
}
END_TEST

START_TEST(large_allocation_gets_its_own_block)
{
    gw_arena a;
    gw_arena_init(&a, 128);
    char *small = gw_arena_strdup(&a, "small");
    char *big = gw_arena_alloc(&a, 100000);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', 100000);
    /* the current block still serves small allocations after the big one */
    char *small2 = gw_arena_strdup(&a, "again");
    ck_assert_str_eq(small, "small");
    ck_assert_str_eq(small2, "again");
    ck_assert_uint_ge(a.bytes_allocated, 100000);
    gw_arena_destroy(&a);
}
END_TEST

START_TEST(reset_rewinds_and_reuses_the_first_block)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    char *first = gw_arena_alloc(&a, 16);
    for (int i = 0; i < 50; i++)
        gw_arena_alloc(&a, 500);
    gw_arena_reset(&a);
    ck_assert_uint_eq(a.bytes_allocated, 0);
    char *again = gw_arena_alloc(&a, 16);
    ck_assert_ptr_eq(first, again);
    gw_arena_destroy(&a);
}
END_TEST

START_TEST(calloc_zeroes_and_refuses_overflow)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    unsigned char *z = gw_arena_calloc(&a, 10, 10);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(z[i], 0);
    ck_assert_ptr_null(gw_arena_calloc(&a, SIZE_MAX / 2, 4));
    ck_assert_ptr_null(gw_arena_strdup(&a, NULL));
    ck_assert_str_eq(gw_arena_strndup(&a, "abcdef", 3), "abc");
    gw_arena_destroy(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, allocations_are_aligned_and_distinct);
    tcase_add_test(tc, grows_past_one_block_and_keeps_data);
    tcase_add_test(tc, large_allocation_gets_its_own_block);
    tcase_add_test(tc, reset_rewinds_and_reuses_the_first_block);
    tcase_add_test(tc, calloc_zeroes_and_refuses_overflow);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
