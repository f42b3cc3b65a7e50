/*
 * check_clock.c — tests of gateway/clock.c: the wall clock agrees with time(), the monotonic
 * clock never goes back and its units agree, a deadline lies ahead by what was asked (carrying
 * nanoseconds into seconds) and is reached once that time has passed.
 */
#include <check.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "clock.h"

START_TEST(wall_clock_is_microseconds_since_the_epoch)
{
    int64_t before = (int64_t)time(NULL);
    int64_t us = gw_now_us();
    int64_t after = (int64_t)time(NULL);
    ck_assert_int_ge(us / 1000000, before);
    ck_assert_int_le(us / 1000000, after);
}
END_TEST

START_TEST(monotonic_never_goes_back_and_units_agree)
{
    int64_t ns = gw_monotonic_ns();
    int64_t us = gw_monotonic_us();
    ck_assert_int_ge(us, ns / 1000);
    ck_assert_int_lt(us - ns / 1000, 1000000); /* well under a second apart */
    int64_t prev = gw_monotonic_ns();
    for (int i = 0; i < 100000; i++) {
        int64_t now = gw_monotonic_ns();
        ck_assert_int_ge(now, prev);
        prev = now;
    }
    usleep(20000);
    ck_assert_int_ge(gw_monotonic_us() - us, 20000);
}
END_TEST

static int64_t ts_ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

START_TEST(deadline_is_ahead_by_what_was_asked)
{
    static const long asks[] = {0, 1, 999, 1000, 1500, 2999, 60000};
    for (size_t i = 0; i < sizeof asks / sizeof *asks; i++) {
        int64_t before = gw_monotonic_ns();
        struct timespec d = gw_monotonic_deadline_ms(asks[i]);
        int64_t after = gw_monotonic_ns();
        ck_assert_int_ge(d.tv_nsec, 0);
        ck_assert_int_lt(d.tv_nsec, 1000000000L);
        ck_assert_int_ge(ts_ns(&d), before + asks[i] * 1000000);
        ck_assert_int_le(ts_ns(&d), after + asks[i] * 1000000);
    }
}
END_TEST

START_TEST(deadline_is_reached_only_when_its_time_has_come)
{
    struct timespec now = gw_monotonic_deadline_ms(0);
    ck_assert(gw_monotonic_reached(&now));
    struct timespec later = gw_monotonic_deadline_ms(30);
    ck_assert(!gw_monotonic_reached(&later));
    usleep(40000);
    ck_assert(gw_monotonic_reached(&later));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("clock");
    TCase *tc = tcase_create("clock");
    tcase_add_test(tc, wall_clock_is_microseconds_since_the_epoch);
    tcase_add_test(tc, monotonic_never_goes_back_and_units_agree);
    tcase_add_test(tc, deadline_is_ahead_by_what_was_asked);
    tcase_add_test(tc, deadline_is_reached_only_when_its_time_has_come);
    suite_add_tcase(suite, tc);
    return check_run_suite(suite);
}
