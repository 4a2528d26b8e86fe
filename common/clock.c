/*
 * clock.c: the system clocks in milliseconds. Code whose rules are tested at exact instants takes
 * its time from the caller (an injected clock); these are what such a clock reads in production.
 */
#include "modq_common.h"

#include <time.h>

static int64_t ms_on(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t modq_clock_mono_ms(void)
{
    return ms_on(CLOCK_MONOTONIC);
}

int64_t modq_clock_wall_ms(void)
{
    return ms_on(CLOCK_REALTIME);
}
