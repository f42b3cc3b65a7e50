/*
 * bench_guards.c — checks per second of the replay guard and the rate limiter, 1 and 2 threads.
 *
 * Not a test: it prints numbers for docs/abuse-limits.md. Each run does a fixed number of
 * operations per thread on the real clock and reports total operations / wall time.
 * Usage: bench_guards [operations per thread, default 2000000]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rate_limit.h"
#include "replay_guard.h"

#define MAX_THREADS 2
#define CLIENTS 200

typedef enum bench_kind { REPLAY_DISTINCT_IDS, RATE_MANY_CLIENTS, RATE_ONE_CLIENT } bench_kind;

typedef struct bench_run {
    bench_kind kind;
    gw_replay_guard *guard;
    gw_rate_limiter *limiter;
    long ops;
    int thread;
    long unexpected; /* outcomes the scenario should never produce */
} bench_run;

static int64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *bench_thread(void *p)
{
    bench_run *r = p;
    char client[32], id[48];
    for (long i = 0; i < r->ops; i++) {
        snprintf(client, sizeof client, "2010007%04ld", (i % CLIENTS) + r->thread * CLIENTS);
        int64_t now = monotonic_us();
        switch (r->kind) {
        case REPLAY_DISTINCT_IDS:
            /* A realistic id: a UUID-length string. */
            snprintf(id, sizeof id, "6f1c2a7e-0b7d-4c55-9e3a-%02d%010ld", r->thread, i);
            if (gw_replay_guard_check(r->guard, client, id, now) != GW_OK)
                r->unexpected++;
            break;
        case RATE_MANY_CLIENTS:
            if (gw_rate_limit_take(r->limiter, client, now, NULL) != GW_OK)
                r->unexpected++;
            break;
        case RATE_ONE_CLIENT:
            /* Everyone on one bucket, one mutex: the worst case for contention. */
            (void)gw_rate_limit_take(r->limiter, "20100070970", now, NULL);
            break;
        }
    }
    return NULL;
}

static double run(bench_kind kind, int threads, long ops, const char *label)
{
    gw_replay_guard *guard = NULL;
    gw_rate_limiter *limiter = NULL;
    if (kind == REPLAY_DISTINCT_IDS)
        guard = gw_replay_guard_new(300, (size_t)(ops * threads));
    else
        limiter = gw_rate_limiter_new(1e6, 1e6, 10000);
    if (!guard && !limiter) {
        fprintf(stderr, "bench_guards: cannot create the table\n");
        exit(EXIT_FAILURE);
    }
    bench_run runs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    int64_t start = monotonic_us();
    for (int t = 0; t < threads; t++) {
        runs[t] = (bench_run){.kind = kind, .guard = guard, .limiter = limiter, .ops = ops,
                              .thread = t};
        if (pthread_create(&tids[t], NULL, bench_thread, &runs[t]) != 0) {
            fprintf(stderr, "bench_guards: pthread_create failed\n");
            exit(EXIT_FAILURE);
        }
    }
    long unexpected = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        unexpected += runs[t].unexpected;
    }
    double seconds = (double)(monotonic_us() - start) / 1e6;
    double rate = (double)ops * threads / seconds;
    printf("%-34s threads=%d  %10.0f checks/s  (%.0f ns/check/thread)%s\n", label, threads, rate,
           seconds * 1e9 / (double)ops, unexpected ? "  UNEXPECTED REFUSALS" : "");
    if (guard) {
        gw_replay_guard_stats st;
        gw_replay_guard_stats_get(guard, &st);
        printf("%-34s entries=%zu capacity=%zu evicted=%llu\n", "", st.entries, st.capacity,
               (unsigned long long)st.evicted);
    }
    gw_replay_guard_free(guard);
    gw_rate_limiter_free(limiter);
    return rate;
}

int main(int argc, char **argv)
{
    long ops = argc > 1 ? atol(argv[1]) : 2000000;
    if (ops <= 0) {
        fprintf(stderr, "usage: bench_guards [operations per thread]\n");
        return EXIT_FAILURE;
    }
    for (int threads = 1; threads <= MAX_THREADS; threads++) {
        run(REPLAY_DISTINCT_IDS, threads, ops, "replay guard, distinct ids");
        run(RATE_MANY_CLIENTS, threads, ops, "rate limiter, 200 clients/thread");
        run(RATE_ONE_CLIENT, threads, ops, "rate limiter, one shared client");
    }
    return EXIT_SUCCESS;
}
