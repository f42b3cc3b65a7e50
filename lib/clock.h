/*
 * clock.h — the daemon's two clocks, in one place. Wall time (CLOCK_REALTIME) is what the log
 * stores and what people read; it can step. Durations, deadlines and rates use the monotonic
 * clock (CLOCK_MONOTONIC), which never steps, so a clock change cannot stretch or cut a wait.
 */
#ifndef PIDE_GW_CLOCK_H
#define PIDE_GW_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds since the Unix epoch (CLOCK_REALTIME): what the log stores. */
int64_t gw_now_us(void);

/* CLOCK_MONOTONIC in nanoseconds and in microseconds (an arbitrary origin: only differences
 * mean something). */
int64_t gw_monotonic_ns(void);
int64_t gw_monotonic_us(void);

/* The CLOCK_MONOTONIC instant `ms` milliseconds from now, for pthread_cond_timedwait on a
 * condition whose clock was set to CLOCK_MONOTONIC (pthread_condattr_setclock). */
struct timespec gw_monotonic_deadline_ms(long ms);
/* 1 once CLOCK_MONOTONIC has reached `deadline`. */
int gw_monotonic_reached(const struct timespec *deadline);

#endif
