/* check_spool.c — the durable local spool (gateway/spool.c): append/peek/consume round trip,
 * a torn tail cut at open (by hand and by a child killed mid-append), a flipped bit in a middle
 * record reported and never skipped, the size bound (full → refused, nothing written), replay
 * position persistence across reopen, segment rotation and deletion, and the folder checks. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"
#include "spool.h"

static char tmpl[64];

static const char *fresh_dir(void)
{
    snprintf(tmpl, sizeof tmpl, "/tmp/check_spool.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    return tmpl;
}

static void rm_dir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static gw_spool *open_ok(const char *dir, uint64_t max)
{
    gw_spool *sp = NULL;
    char err[256];
    gw_status st = gw_spool_open(dir, max, &sp, err, sizeof err);
    ck_assert_msg(st == GW_OK, "open: %s", err);
    return sp;
}

/* Appends record i as "record-<i>" padded to a length that varies with i. */
static void append_range(gw_spool *sp, int from, int to)
{
    char err[256];
    for (int i = from; i < to; i++) {
        char buf[300];
        int n = snprintf(buf, sizeof buf, "record-%d:", i);
        int pad = i % 200;
        memset(buf + n, 'x', (size_t)pad);
        const unsigned char *d = (const unsigned char *)buf;
        size_t len = (size_t)(n + pad);
        ck_assert_msg(gw_spool_append(sp, &d, &len, 1, err, sizeof err) == GW_OK, "%s", err);
    }
}

/* Reads and consumes everything, checking the records are exactly from..to-1 in order. */
static void drain_expect(gw_spool *sp, int from, int to)
{
    char err[256];
    int next = from;
    for (;;) {
        gw_spool_batch b;
        ck_assert_msg(gw_spool_peek(sp, 7, &b, err, sizeof err) == GW_OK, "%s", err);
        if (b.n == 0)
            break;
        for (size_t i = 0; i < b.n; i++) {
            char want[32];
            int n = snprintf(want, sizeof want, "record-%d:", next);
            ck_assert_uint_eq(b.len[i], (size_t)(n + next % 200));
            ck_assert(memcmp(b.data[i], want, (size_t)n) == 0);
            next++;
        }
        ck_assert_int_eq(gw_spool_consume(sp, &b, err, sizeof err), GW_OK);
        gw_spool_batch_free(&b);
    }
    ck_assert_int_eq(next, to);
    ck_assert(gw_spool_is_empty(sp));
}

/* The segment files of dir, sorted, into names (at most 16). */
static int segments(const char *dir, char names[16][300])
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 16)
        if (strncmp(de->d_name, "seg-", 4) == 0)
            snprintf(names[n++], 300, "%s/%s", dir, de->d_name);
    closedir(d);
    qsort(names, (size_t)n, 300, (int (*)(const void *, const void *))strcmp);
    return n;
}

static off_t file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_size;
}

START_TEST(round_trip_in_order_with_one_fsync_per_batch)
{
    const char *dir = fresh_dir();
    gw_spool *sp = open_ok(dir, 1 << 20);
    ck_assert(gw_spool_is_empty(sp));
    /* A batch of three in one call, then singles. */
    const unsigned char *d[3] = {
        (const unsigned char *)"record-0:", (const unsigned char *)"record-1:x",
        (const unsigned char *)"record-2:xx"};
    size_t len[3] = {9, 10, 11};
    char err[256];
    ck_assert_int_eq(gw_spool_append(sp, d, len, 3, err, sizeof err), GW_OK);
    append_range(sp, 3, 50);
    gw_spool_stats s;
    gw_spool_stats_of(sp, &s);
    ck_assert_uint_eq(s.records, 50);
    ck_assert_uint_gt(s.bytes, 50 * 12);
    drain_expect(sp, 0, 50);
    gw_spool_stats_of(sp, &s);
    ck_assert_uint_eq(s.replayed_total, 50);
    ck_assert_uint_eq(s.records, 0);
    /* Compaction frees the replayed bytes. */
    ck_assert_int_eq(gw_spool_compact(sp, err, sizeof err), GW_OK);
    gw_spool_stats_of(sp, &s);
    ck_assert_uint_eq(s.bytes, 0);
    append_range(sp, 50, 60);
    drain_expect(sp, 50, 60);
    gw_spool_close(sp);
    rm_dir(dir);
}
END_TEST

START_TEST(replay_position_survives_reopen)
{
    const char *dir = fresh_dir();
    gw_spool *sp = open_ok(dir, 1 << 20);
    append_range(sp, 0, 30);
    char err[256];
    gw_spool_batch b;
    ck_assert_int_eq(gw_spool_peek(sp, 10, &b, err, sizeof err), GW_OK);
    ck_assert_uint_eq(b.n, 10);
    ck_assert_int_eq(gw_spool_consume(sp, &b, err, sizeof err), GW_OK);
    gw_spool_batch_free(&b);
    /* Peeked but not consumed: comes back after a reopen. */
    ck_assert_int_eq(gw_spool_peek(sp, 5, &b, err, sizeof err), GW_OK);
    gw_spool_batch_free(&b);
    gw_spool_close(sp);

    sp = open_ok(dir, 1 << 20);
    gw_spool_stats s;
    gw_spool_stats_of(sp, &s);
    ck_assert_uint_eq(s.records, 20);
    drain_expect(sp, 10, 30);
    gw_spool_close(sp);
    /* Reopening a drained spool: nothing waiting. */
    sp = open_ok(dir, 1 << 20);
    ck_assert(gw_spool_is_empty(sp));
    append_range(sp, 30, 33);
    gw_spool_close(sp);
    sp = open_ok(dir, 1 << 20);
    drain_expect(sp, 30, 33);
    gw_spool_close(sp);
    rm_dir(dir);
}
END_TEST

START_TEST(torn_tail_is_cut_and_appends_continue)
{
    const char *dir = fresh_dir();
    gw_spool *sp = open_ok(dir, 1 << 20);
    append_range(sp, 0, 10);
    gw_spool_close(sp);
    char names[16][300];
    ck_assert_int_eq(segments(dir, names), 1);
    off_t size = file_size(names[0]);
    /* The last record loses its last 3 bytes, as a crash mid-write would leave it. */
    ck_assert_int_eq(truncate(names[0], size - 3), 0);
    sp = open_ok(dir, 1 << 20);
    gw_spool_stats s;
    gw_spool_stats_of(sp, &s);
    ck_assert_uint_eq(s.records, 9);
    ck_assert_uint_gt(s.torn_bytes, 0);
    ck_assert(!s.corrupt);
    append_range(sp, 9, 12);
    drain_expect(sp, 0, 12);
    gw_spool_close(sp);

    /* A header alone (length claims more than is there) is torn too. */
    sp = open_ok(dir, 1 << 20);
    append_range(sp, 0, 2);
    gw_spool_close(sp);
    ck_assert_int_eq(segments(dir, names), 1);
    int fd = open(names[0], O_WRONLY | O_APPEND);
    const unsigned char hdr[6] = {'P', 'S', 'P', '1', 0, 0};
    ck_assert_int_eq(write(fd, hdr, sizeof hdr), 6);
    close(fd);
    sp = open_ok(dir, 1 << 20);
    drain_expect(sp, 0, 2);
    gw_spool_close(sp);
    rm_dir(dir);
}
END_TEST

START_TEST(child_killed_mid_append_leaves_only_acknowledged_records)
{
    const char *dir = fresh_dir();
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(pipefd[0]);
        gw_spool *sp = NULL;
        char err[256];
        if (gw_spool_open(dir, 64 << 20, &sp, err, sizeof err) != GW_OK)
            _exit(2);
        /* Large records so the kill lands mid-write; each acknowledged index goes to the pipe
         * only after gw_spool_append returned GW_OK (as an answer is released). */
        static unsigned char big[256 << 10];
        for (int i = 0;; i++) {
            int n = snprintf((char *)big, 32, "record-%d:", i);
            memset(big + n, 'y', sizeof big - (size_t)n);
            const unsigned char *d = big;
            size_t len = sizeof big;
            if (gw_spool_append(sp, &d, &len, 1, err, sizeof err) != GW_OK)
                _exit(3);
            if (write(pipefd[1], &i, sizeof i) != sizeof i)
                _exit(4);
        }
    }
    close(pipefd[1]);
    int acked = -1, v;
    while (acked < 20 && read(pipefd[0], &v, sizeof v) == sizeof v)
        acked = v;
    kill(pid, SIGKILL);
    while (read(pipefd[0], &v, sizeof v) == sizeof v)
        acked = v;
    close(pipefd[0]);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFSIGNALED(status));

    gw_spool *sp = open_ok(dir, 64 << 20);
    gw_spool_stats s;
    gw_spool_stats_of(sp, &s);
    ck_assert(!s.corrupt);
    /* Every acknowledged record is there; at most the one in flight beyond it. */
    ck_assert_uint_ge(s.records, (uint64_t)acked + 1);
    ck_assert_uint_le(s.records, (uint64_t)acked + 2);
    char err[256];
    int next = 0;
    for (;;) {
        gw_spool_batch b;
        ck_assert_int_eq(gw_spool_peek(sp, 4, &b, err, sizeof err), GW_OK);
        if (b.n == 0)
            break;
        for (size_t i = 0; i < b.n; i++) {
            char want[32];
            int n = snprintf(want, sizeof want, "record-%d:", next++);
            ck_assert_uint_eq(b.len[i], 256 << 10);
            ck_assert(memcmp(b.data[i], want, (size_t)n) == 0);
        }
        ck_assert_int_eq(gw_spool_consume(sp, &b, err, sizeof err), GW_OK);
        gw_spool_batch_free(&b);
    }
    ck_assert_int_ge(next, acked + 1);
    gw_spool_close(sp);
    rm_dir(dir);
}
END_TEST

START_TEST(flipped_bit_in_a_middle_record_stops_replay_there)
{
    const char *dir = fresh_dir();
    gw_spool *sp = open_ok(dir, 1 << 20);
    append_range(sp, 0, 10);
    gw_spool_close(sp);
    char names[16][300];
    ck_assert_int_eq(segments(dir, names), 1);
    /* Record 0 is 12 + 9 bytes, record 1 is 12 + 10, record 2 starts at 43: flip a bit of its
     * payload. */
    int fd = open(names[0], O_RDWR);
    unsigned char c;
    ck_assert_int_eq(pread(fd, &c, 1, 43 + 12 + 3), 1);
    c ^= 0x10;
    ck_assert_int_eq(pwrite(fd, &c, 1, 43 + 12 + 3), 1);
    close(fd);

    sp = open_ok(dir, 1 << 20);
    gw_spool_stats s;
    gw_spool_stats_of(sp, &s);
    ck_assert(s.corrupt);
    ck_assert_uint_eq(s.records, 2);
    char err[256];
    gw_spool_batch b;
    ck_assert_int_eq(gw_spool_peek(sp, 100, &b, err, sizeof err), GW_OK);
    ck_assert_uint_eq(b.n, 2);
    ck_assert_int_eq(gw_spool_consume(sp, &b, err, sizeof err), GW_OK);
    gw_spool_batch_free(&b);
    /* Then it stops, every time, with the place named; the records after are not served. */
    for (int k = 0; k < 2; k++) {
        err[0] = '\0';
        ck_assert_int_eq(gw_spool_peek(sp, 100, &b, err, sizeof err), GW_ERR_IO);
        ck_assert_uint_eq(b.n, 0);
    }
    gw_spool_close(sp);
    /* Detected by peek as well when the flip happens after open. */
    rm_dir(dir);
    dir = fresh_dir();
    sp = open_ok(dir, 1 << 20);
    append_range(sp, 0, 10);
    ck_assert_int_eq(segments(dir, names), 1);
    fd = open(names[0], O_RDWR);
    ck_assert_int_eq(pread(fd, &c, 1, 21 + 5), 1);
    c ^= 0x01;
    ck_assert_int_eq(pwrite(fd, &c, 1, 21 + 5), 1);
    close(fd);
    ck_assert_int_eq(gw_spool_peek(sp, 100, &b, err, sizeof err), GW_OK);
    ck_assert_uint_eq(b.n, 1);
    gw_spool_batch_free(&b);
    ck_assert_int_eq(gw_spool_peek(sp, 100, &b, err, sizeof err), GW_OK); /* still 1 good */
    ck_assert_int_eq(gw_spool_consume(sp, &b, err, sizeof err), GW_OK);
    gw_spool_batch_free(&b);
    ck_assert_int_eq(gw_spool_peek(sp, 100, &b, err, sizeof err), GW_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, "corrupt record"));
    gw_spool_stats_of(sp, &s);
    ck_assert(s.corrupt);
    gw_spool_close(sp);
    rm_dir(dir);
}
END_TEST

START_TEST(a_full_spool_refuses_and_writes_nothing)
{
    const char *dir = fresh_dir();
    gw_spool *sp = open_ok(dir, 4096);
    char err[256];
    unsigned char rec[1000];
    memset(rec, 'z', sizeof rec);
    const unsigned char *d[4] = {rec, rec, rec, rec};
    size_t len[4] = {1000, 1000, 1000, 1000};
    ck_assert_int_eq(gw_spool_append(sp, d, len, 3, err, sizeof err), GW_OK);
    gw_spool_stats s;
    gw_spool_stats_of(sp, &s);
    ck_assert_uint_eq(s.bytes, 3 * 1012);
    /* A batch of two would pass the bound: refused whole. */
    ck_assert_int_eq(gw_spool_append(sp, d, len, 2, err, sizeof err), GW_ERR_LOG_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(err, "full"));
    /* A record larger than the bound is never accepted. */
    unsigned char *huge = calloc(1, 5000);
    const unsigned char *hd = huge;
    size_t hl = 5000;
    ck_assert_int_eq(gw_spool_append(sp, &hd, &hl, 1, err, sizeof err), GW_ERR_LOG_UNAVAILABLE);
    free(huge);
    gw_spool_stats_of(sp, &s);
    ck_assert_uint_eq(s.bytes, 3 * 1012);
    ck_assert_uint_eq(s.records, 3);
    ck_assert_uint_eq(s.full_total, 1);
    /* One more fits exactly below the bound? 4 * 1012 = 4048 <= 4096: yes. */
    ck_assert_int_eq(gw_spool_append(sp, d, len, 1, err, sizeof err), GW_OK);
    ck_assert_int_eq(gw_spool_append(sp, d, len, 1, err, sizeof err), GW_ERR_LOG_UNAVAILABLE);
    /* Replaying and compacting makes room again. */
    gw_spool_batch b;
    ck_assert_int_eq(gw_spool_peek(sp, 100, &b, err, sizeof err), GW_OK);
    ck_assert_int_eq(gw_spool_consume(sp, &b, err, sizeof err), GW_OK);
    gw_spool_batch_free(&b);
    for (;;) {
        ck_assert_int_eq(gw_spool_peek(sp, 100, &b, err, sizeof err), GW_OK);
        if (b.n == 0)
            break;
        ck_assert_int_eq(gw_spool_consume(sp, &b, err, sizeof err), GW_OK);
        gw_spool_batch_free(&b);
    }
    ck_assert_int_eq(gw_spool_compact(sp, err, sizeof err), GW_OK);
    ck_assert_int_eq(gw_spool_append(sp, d, len, 3, err, sizeof err), GW_OK);
    gw_spool_close(sp);
    rm_dir(dir);
}
END_TEST

START_TEST(segments_rotate_and_replayed_ones_are_deleted)
{
    const char *dir = fresh_dir();
    /* Bound 64 KiB: segments close at 16 KiB. */
    gw_spool *sp = open_ok(dir, 64 << 10);
    append_range(sp, 0, 200); /* ~ 200 * (12 + 8..210) ≈ 25 KiB */
    char names[16][300];
    int nseg = segments(dir, names);
    ck_assert_int_ge(nseg, 2);
    drain_expect(sp, 0, 200);
    ck_assert_int_eq(segments(dir, names), 1); /* the append target stays */
    gw_spool_close(sp);
    /* A crash between the offset update and the deletion: a stale replayed segment (numbered
     * before the replay position) is deleted at open, not replayed again. */
    char stale[300];
    snprintf(stale, sizeof stale, "%s/seg-0000000000000000.spool", dir);
    FILE *f = fopen(stale, "w");
    fputs("PSP1 stale bytes", f);
    fclose(f);
    sp = open_ok(dir, 64 << 10);
    ck_assert(gw_spool_is_empty(sp));
    ck_assert_int_ne(access(stale, F_OK), 0);
    append_range(sp, 0, 200);
    drain_expect(sp, 0, 200);
    gw_spool_close(sp);
    rm_dir(dir);
}
END_TEST

START_TEST(the_folder_must_be_private)
{
    const char *dir = fresh_dir();
    gw_spool *sp = NULL;
    char err[256];
    ck_assert_int_eq(chmod(dir, 0777), 0);
    ck_assert_int_eq(gw_spool_open(dir, 1 << 20, &sp, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "0700"));
    ck_assert_int_eq(chmod(dir, 0750), 0);
    ck_assert_int_eq(gw_spool_open(dir, 1 << 20, &sp, err, sizeof err), GW_ERR_CONFIG);
    ck_assert_int_eq(chmod(dir, 0700), 0);
    /* Created when absent, 0700. */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/new", dir);
    sp = open_ok(sub, 1 << 20);
    gw_spool_close(sp);
    struct stat st;
    ck_assert_int_eq(stat(sub, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    /* A symlink to a folder is refused. */
    char link[128];
    snprintf(link, sizeof link, "%s/link", dir);
    ck_assert_int_eq(symlink(sub, link), 0);
    ck_assert_int_eq(gw_spool_open(link, 1 << 20, &sp, err, sizeof err), GW_ERR_CONFIG);
    /* A corrupt offset file refuses the start rather than replay from a guess. */
    char off[160];
    snprintf(off, sizeof off, "%s/replay.offset", sub);
    FILE *f = fopen(off, "w");
    fputs("garbage", f);
    fclose(f);
    ck_assert_int_eq(gw_spool_open(sub, 1 << 20, &sp, err, sizeof err), GW_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, "replay.offset"));
    /* A too-small bound is refused. */
    ck_assert_int_eq(gw_spool_open(dir, 100, &sp, err, sizeof err), GW_ERR_INVALID_ARG);
    rm_dir(dir);
}
END_TEST

START_TEST(crc32c_known_answer)
{
    /* RFC 3720 B.4: 32 bytes of zeros → 0x8a9136aa; "123456789" → 0xe3069283. */
    unsigned char zeros[32] = {0};
    ck_assert_uint_eq(gw_crc32c(0, zeros, sizeof zeros), 0x8a9136aa);
    ck_assert_uint_eq(gw_crc32c(0, "123456789", 9), 0xe3069283);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spool");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, crc32c_known_answer);
    tcase_add_test(tc, round_trip_in_order_with_one_fsync_per_batch);
    tcase_add_test(tc, replay_position_survives_reopen);
    tcase_add_test(tc, torn_tail_is_cut_and_appends_continue);
    tcase_add_test(tc, child_killed_mid_append_leaves_only_acknowledged_records);
    tcase_add_test(tc, flipped_bit_in_a_middle_record_stops_replay_there);
    tcase_add_test(tc, a_full_spool_refuses_and_writes_nothing);
    tcase_add_test(tc, segments_rotate_and_replayed_ones_are_deleted);
    tcase_add_test(tc, the_folder_must_be_private);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
