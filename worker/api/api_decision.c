/*
 * api_decision.c: POST /v1/items/{id}/decision (docs/api.md). The person is answered once Kafka
 * has confirmed the decision, not when the desk let go of it (api_await.c): a 200 then means the
 * decision survives a crash of this pod, so its item cannot come back to anyone.
 */
#include "api_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VERDICT 32 /* bytes: the longest verdict name is 17 */
#define MAX_LABEL   64 /* bytes of one label */
#define LOST                                                                                       \
    "Your decision could not be saved. The item will be offered again: please decide it then."

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

void api_decision(modq_api_call *c)
{
    json_t *body = NULL, *status = NULL;
    const char *verdict = NULL, *note = NULL;
    const char *labels[MODQ_DESK_MAX_LABELS];
    size_t nlabels = 0;
    modq_desk_result rc;
    modq_desk_confirm confirm;
    api_awaited *w;

    if (!api_body(c, false, &body) || !api_string(c, body, "verdict", MAX_VERDICT, &verdict) ||
        !api_string(c, body, "note", MODQ_DESK_MAX_NOTE, &note) ||
        !read_labels(c, body, labels, &nlabels)) {
        goto out;
    }
    if (!verdict) {
        api_error(c, 400, "bad_request", "verdict is required.", NULL);
        goto out;
    }
    if (!(w = api_await_new(c, LOST, &confirm))) {
        goto out;
    }
    rc = modq_desk_decide_then(c->api->desk, &c->who, c->id, verdict, labels, nlabels, note,
                               c->now_ms, &confirm, &status);
    if (rc != MODQ_DESK_OK) {
        api_await_cancel(w); /* never told */
        api_desk_error(c, rc, NULL, NULL);
        goto out;
    }
    api_await_answer(
        c, w, api_object("decided", json_string(c->id), "status", status ? status : json_null()));
out:
    json_decref(body);
}
