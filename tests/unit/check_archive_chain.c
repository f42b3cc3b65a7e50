/*
 * check_archive_chain.c — tools/archive_chain.c: a good chain passes; a changed row, a gap, a
 * reordered pair and a broken link are each named once.
 */
#include <check.h>
#include <string.h>

#include "archive_chain.h"
#include "check_run.h"

static void h(unsigned char out[ARCHIVE_HASH_LEN], int v)
{
    memset(out, 0, ARCHIVE_HASH_LEN);
    out[0] = (unsigned char)v;
    out[31] = 0xaa;
}

/* rows 1..n where row i has hash h(i) and prev h(i-1). */
START_TEST(good_chain)
{
    archive_chain c;
    unsigned char p[32], r[32];
    archive_chain_init(&c);
    for (int i = 1; i <= 5; i++) {
        h(p, i - 1 + 100);
        h(r, i + 100);
        ck_assert_ptr_null(archive_chain_add(&c, 10 + i, p, r, r));
    }
    ck_assert_int_eq(c.rows, 5);
    ck_assert_int_eq(c.first_seq, 11);
    ck_assert_int_eq(c.last_seq, 15);
    h(p, 100);
    ck_assert_mem_eq(c.first_prev, p, 32);
    h(r, 105);
    ck_assert_mem_eq(c.last_row, r, 32);
    ck_assert_int_eq(c.failures, 0);
}
END_TEST

START_TEST(changed_row)
{
    archive_chain c;
    unsigned char p[32], r[32], other[32];
    archive_chain_init(&c);
    h(p, 0); h(r, 1); h(other, 9);
    const char *why = archive_chain_add(&c, 1, p, r, other);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "content"));
    h(p, 1); h(r, 2);
    ck_assert_ptr_null(archive_chain_add(&c, 2, p, r, r));
    ck_assert_int_eq(c.failures, 1);
}
END_TEST

START_TEST(gap_and_link)
{
    archive_chain c;
    unsigned char p[32], r[32];
    archive_chain_init(&c);
    h(p, 0); h(r, 1);
    ck_assert_ptr_null(archive_chain_add(&c, 1, p, r, r));
    h(p, 2); h(r, 3); /* seq 2 removed */
    ck_assert_ptr_nonnull(strstr(archive_chain_add(&c, 3, p, r, r), "seq"));
    h(p, 7); h(r, 4); /* wrong link */
    ck_assert_ptr_nonnull(strstr(archive_chain_add(&c, 4, p, r, r), "prev_hash"));
    h(p, 4); h(r, 5);
    ck_assert_ptr_null(archive_chain_add(&c, 5, p, r, r));
    ck_assert_int_eq(c.failures, 2);
    h(p, 5); h(r, 6); /* reordered: seq goes back */
    ck_assert_ptr_nonnull(archive_chain_add(&c, 3, p, r, r));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("archive_chain");
    TCase *t = tcase_create("core");
    tcase_add_test(t, good_chain);
    tcase_add_test(t, changed_row);
    tcase_add_test(t, gap_and_link);
    suite_add_tcase(s, t);
    return check_run_suite(s);
}
