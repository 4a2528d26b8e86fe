/*
 * api_decision.c: POST /v1/items/{id}/decision (docs/api.md). The person is answered once Kafka
 * has confirmed the decision, not when the desk let go of it: a 200 then means the decision
 * survives a crash of this pod, so its item cannot come back to anyone. A decision Kafka has not
 * confirmed within the sink's wait is answered 202 (kept and sent again), and one that was
 * dropped 503. The answer waits without a thread (modq_http_resp_later).
 */
#include "api_impl.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VERDICT 32 /* bytes: the longest verdict name is 17 */
#define MAX_LABEL   64 /* bytes of one label */

/* The labels member (optional) into labels[]; strings borrowed from body. */
static bool read_labels(modq_api_call *c, const json_t *body, const char **labels, size_t *n)
{
    const json_t *arr = json_object_get(body, "labels");
    const char *bad = NULL;
    char msg[96];

    *n = 0;
    if (!arr || json_is_null(arr)) {
        return true;
    }
    if (!json_is_array(arr) || json_array_size(arr) > MODQ_DESK_MAX_LABELS) {
        snprintf(msg, sizeof(msg), "labels must be an array of at most %d strings.",
                 MODQ_DESK_MAX_LABELS);
        bad = msg;
    } else {
        for (size_t i = 0; i < json_array_size(arr) && !bad; i++) {
            const json_t *v = json_array_get(arr, i);
            const char *s = json_string_value(v);
            /* The desk joins labels with commas for the decided set: a comma would split one. */
            if (!s || !s[0] || json_string_length(v) > MAX_LABEL ||
                strlen(s) != json_string_length(v) || strchr(s, ',')) {
                bad = "Each label must be a short text without commas.";
            } else {
                labels[(*n)++] = s;
            }
        }
    }
    if (bad) {
        api_error(c, 400, "bad_request", bad, NULL);
        return false;
    }
    return true;
}

/*
 * A decision whose answer waits for two things, in either order: the desk's call returning (the
 * answer's body built) and the sink telling its fate (which may come first, from another
 * thread). The second of the two sends the answer and frees this.
 */
typedef struct awaited {
    atomic_int steps;
    modq_desk_fate fate;
    modq_http_later *later; /* NULL: answered already, at once */
    json_t *answer;         /* owned; NULL when it could not be built */
} awaited;

static void send_answer(awaited *w)
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
        modq_http_later_error(w->later, 503, "not_recorded",
                              "Your decision could not be saved. The item will be offered again: "
                              "please decide it then.",
                              5);
    }
    free(w);
}

static void step(awaited *w)
{
    if (atomic_fetch_add(&w->steps, 1) == 1) {
        send_answer(w);
    }
}

static void on_fate(void *arg, modq_desk_fate fate)
{
    awaited *w = arg;
    w->fate = fate;
    step(w);
}

void api_decision(modq_api_call *c)
{
    json_t *body = NULL, *status = NULL;
    const char *verdict = NULL, *note = NULL;
    const char *labels[MODQ_DESK_MAX_LABELS];
    size_t nlabels = 0;
    modq_desk_result rc;
    awaited *w = NULL;

    if (!api_body(c, false, &body) || !api_string(c, body, "verdict", MAX_VERDICT, &verdict) ||
        !api_string(c, body, "note", MODQ_DESK_MAX_NOTE, &note) ||
        !read_labels(c, body, labels, &nlabels)) {
        goto out;
    }
    if (!verdict) {
        api_error(c, 400, "bad_request", "verdict is required.", NULL);
        goto out;
    }
    if (!(w = calloc(1, sizeof(*w)))) {
        api_error(c, 500, "internal", "Something went wrong. Please try again.", "out of memory");
        goto out;
    }
    rc = modq_desk_decide_then(c->api->desk, &c->who, c->id, verdict, labels, nlabels, note,
                               c->now_ms, &(modq_desk_confirm){on_fate, w}, &status);
    if (rc != MODQ_DESK_OK) {
        free(w); /* never told */
        api_desk_error(c, rc, NULL, NULL);
        goto out;
    }
    w->answer =
        api_object("decided", json_string(c->id), "status", status ? status : json_null());
    /* Without a connection to hold (a request built in memory), the answer goes now. */
    if (!(w->later = modq_http_resp_later(c->r))) {
        api_json(c, 200, w->answer);
        w->answer = NULL;
    }
    step(w);
out:
    json_decref(body);
}
