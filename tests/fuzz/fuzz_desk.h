/*
 * fuzz_desk.h: what the harnesses that drive a real desk (ticket, http) share: a sink that keeps
 * nothing, since they check the desk's answers, not what it would publish.
 */
#ifndef MODQ_FUZZ_DESK_H
#define MODQ_FUZZ_DESK_H

#include "desk/desk.h"

static inline void fz_sink_decision(void *arg, const modq_desk_ref *ref, const char *content_id,
                                    const char *ticket_id, const uint8_t *sha256, int verdict,
                                    const char *labels, const uint8_t *buf, size_t len)
{
    (void)arg, (void)ref, (void)content_id, (void)ticket_id, (void)sha256, (void)verdict;
    (void)labels, (void)buf, (void)len;
}

static inline void fz_sink_event(void *arg, const char *key, const uint8_t *buf, size_t len)
{
    (void)arg, (void)key, (void)buf, (void)len;
}

/* The sink of a desk whose output is thrown away. */
#define FZ_DESK_SINK_DISCARD                                                                       \
    {                                                                                              \
        .decision = fz_sink_decision, .wellbeing = fz_sink_event, .audit = fz_sink_event,          \
        .ledger = fz_sink_event                                                                    \
    }

#endif
