/*
 * run_util.c: what run.c, run_sink.c, run_dead.c, run_outcome.c and run_desk.c share beyond the
 * layout in run_impl.h: the log line about one ticket message, and the decided set's answer for a
 * ticket id. Kept apart from the loop so that the sink and the dead letters build on it without
 * calling back into run.c.
 */
#include "run_impl.h"

#include <stdio.h>

/* One log line about a ticket message at (topic, partition, offset). */
void run_log_msg(modq_run *r, modq_log_level level, const char *msg, const char *topic,
                 int32_t partition, int64_t offset, const char *error)
{
    char part[16], off[24];
    snprintf(part, sizeof part, "%lld", (long long)partition);
    snprintf(off, sizeof off, "%lld", (long long)offset);
    modq_log_write(r->log, level, msg, "topic", topic, "partition", part, "offset", off, "error",
                   error ? error : "", NULL);
}

bool run_is_decided(modq_run *r, const char *ticket_id)
{
    int decided;

    pthread_mutex_lock(&r->decided_lock);
    decided = modq_decided_has_ticket(r->decided, ticket_id);
    pthread_mutex_unlock(&r->decided_lock);
    return decided != 0;
}
