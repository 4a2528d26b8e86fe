/*
 * fuzz_desk.h: what the harnesses that drive a real desk (ticket, review, http) share: a sink that
 * keeps nothing, since they check the desk's answers, not what it would publish, and the desk.
 */
#ifndef MODQ_FUZZ_DESK_H
#define MODQ_FUZZ_DESK_H

#include "desk/desk.h"
#include "fuzz_util.h"

static inline void fz_sink_decision(void *arg, const modq_desk_ref *ref, const char *content_id,
                                    const char *ticket_id, const uint8_t *sha256, int verdict,
                                    const char *labels, const uint8_t *buf, size_t len,
                                    const modq_desk_confirm *confirm)
{
    (void)arg, (void)ref, (void)content_id, (void)ticket_id, (void)sha256, (void)verdict;
    (void)labels, (void)buf, (void)len;
    if (confirm) { /* the sink's promise: every waiter is told, once */
        confirm->fn(confirm->arg, MODQ_DESK_FATE_CONFIRMED);
    }
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

/* A desk over policy that throws its output away (worker "w-fuzz", seed 1); ends the run when it
 * cannot be made. Caller owns it: modq_desk_free. */
static inline modq_desk *fz_desk_new(const modq_policy *policy, int64_t lease_ms, double qa_rate,
                                     size_t max_items)
{
    modq_desk_opts o = {.policy = policy,
                        .sink = FZ_DESK_SINK_DISCARD,
                        .worker_id = "w-fuzz",
                        .lease_ms = lease_ms,
                        .qa_sample_rate = qa_rate,
                        .max_items = max_items,
                        .seed = 1};
    modq_desk *d = NULL;

    if (modq_desk_new(&o, &d) != MODQ_DESK_OK) {
        fz_setup_fail("desk");
    }
    return d;
}

#endif
