/* check_redact.c — passwords never reach the log: every <[p:]password> text is replaced, the
 * rest of the request stays byte for byte. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "redact.h"

static const char *redact(gw_arena *a, const char *in, int *count)
{
    const char *out = NULL;
    size_t len = 0;
    ck_assert_int_eq(gw_redact_element_text(a, in, strlen(in), "password", &out, &len, count),
                     GW_OK);
    ck_assert_uint_eq(len, strlen(out));
    return out;
}

START_TEST(replaces_plain_and_prefixed)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    int n = 0;
    ck_assert_str_eq(redact(&a, "<a><password>s3cret</password><b>x</b></a>", &n),
                     "<a><password>[REDACTED]</password><b>x</b></a>");
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(redact(&a, "<p:password xmlns:p='u'>pw</p:password >tail", &n),
                     "<p:password xmlns:p='u'>[REDACTED]</p:password >tail");
    ck_assert_str_eq(redact(&a, "<password><![CDATA[a<b]]></password>", &n),
                     "<password>[REDACTED]</password>");
    ck_assert_str_eq(redact(&a, "<password>1</password><password>2</password>", &n),
                     "<password>[REDACTED]</password><password>[REDACTED]</password>");
    ck_assert_int_eq(n, 2);
    gw_arena_destroy(&a);
}
END_TEST

START_TEST(leaves_other_elements_alone)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    int n = 0;
    const char *in = "<passwordHint>x</passwordHint><mypassword>y</mypassword><password/>";
    ck_assert_str_eq(redact(&a, in, &n), in);
    ck_assert_int_eq(n, 0);
    gw_arena_destroy(&a);
}
END_TEST

START_TEST(unterminated_element_is_redacted_to_the_end)
{
    gw_arena a;
    gw_arena_init(&a, 1024);
    int n = 0;
    ck_assert_str_eq(redact(&a, "<x><password>secret and no end", &n),
                     "<x><password>[REDACTED]");
    gw_arena_destroy(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redact");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, replaces_plain_and_prefixed);
    tcase_add_test(tc, leaves_other_elements_alone);
    tcase_add_test(tc, unterminated_element_is_redacted_to_the_end);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
