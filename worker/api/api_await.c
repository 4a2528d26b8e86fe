/*
 * api_await.c: answers that wait for Kafka's word on what a person did (a decision, an
 * escalation), so that a 200 means it survives a crash of this pod. The desk's sink tells the
 * fate (modq_desk_confirm); the answer waits without a thread (modq_http_resp_later).
 *
 * The answer needs two things, in either order: the desk's call returning (the body built) and
 * the fate (which may come first, from another thread). The second of the two sends it.
 */
#include "api_impl.h"

#include <stdatomic.h>
#include <stdlib.h>

struct api_awaited {
    atomic_int steps;
    modq_desk_fate fate;
    modq_http_later *later; /* NULL: answered already, at once */
    json_t *answer;         /* owned; NULL when it could not be built */
    const char *lost;       /* static: the 503 message when it was dropped */
};

static void send_answer(api_awaited *w)
{
    if (!w->later) {
        json_decref(w->answer);
    } else if (!w->answer) {
        modq_http_later_error(w->later, 500, "internal", "Something went wrong. Please try again.",
                              0);
    } else if (w->fate == MODQ_DESK_FATE_CONFIRMED) {
        modq_http_later_json(w->later, 200, w->answer);
    } else if (w->fate == MODQ_DESK_FATE_PENDING &&
               json_object_set_new(w->answer, "confirmed", json_false()) == 0) {
        modq_http_later_json(w->later, 202, w->answer);
    } else {
        json_decref(w->answer);
        modq_http_later_error(w->later, 503, "not_recorded", w->lost, 5);
    }
    free(w);
}

static void step(api_awaited *w)
{
    if (atomic_fetch_add(&w->steps, 1) == 1) {
        send_answer(w);
    }
}

static void on_fate(void *arg, modq_desk_fate fate)
{
    api_awaited *w = arg;
    w->fate = fate;
    step(w);
}

api_awaited *api_await_new(modq_api_call *c, const char *lost, modq_desk_confirm *confirm)
{
    api_awaited *w = calloc(1, sizeof(*w));

    if (!w) {
        api_error(c, 500, "internal", "Something went wrong. Please try again.", "out of memory");
        return NULL;
    }
    w->lost = lost;
    *confirm = (modq_desk_confirm){on_fate, w};
    return w;
}

void api_await_cancel(api_awaited *w)
{
    free(w);
}

void api_await_answer(modq_api_call *c, api_awaited *w, json_t *answer)
{
    w->answer = answer;
    /* Without a connection to hold (a request built in memory), the answer goes now. */
    if (!(w->later = modq_http_resp_later(c->r))) {
        api_json(c, 200, w->answer);
        w->answer = NULL;
    }
    step(w);
}
