/*
 * http_later.c: answers a handler gives after it returned (http.h, modq_http_resp_later), over
 * libmicrohttpd's suspend and resume.
 *
 * A later has two owners, the connection and the caller, and is freed when both are done with
 * it. Its state moves one way: IN_HANDLER (the handler has not returned), SUSPENDED (the
 * connection waits), READY (the answer is stored; the connection sends it on its next turn),
 * DONE (sent, or the connection closed). Why resume under the later's lock: the server's close
 * must see every suspended connection either still suspended (and resume it itself) or already
 * resumed; libmicrohttpd refuses to stop with one suspended.
 */
#include "http_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CLOSE_WAIT_MS 2000 /* at most, for the answers of resumed connections to go out */
#define CLOSE_POLL_MS 10

typedef enum later_state {
    LATER_IN_HANDLER,
    LATER_SUSPENDED,
    LATER_READY,
    LATER_DONE,
} later_state;

struct modq_http_later {
    pthread_mutex_t mu;
    later_state state;
    unsigned refs; /* the connection's and the caller's */
    bool closing;  /* the server stops: answer now, never suspend */
    bool given;    /* the caller answered (or the server did in its place) */
    modq_http_resp resp;
    struct MHD_Connection *conn;
    modq_http_later *prev, *next; /* the server's list (laters with a connection) */
};

bool http_laters_init(http_laters *ls)
{
    ls->head = NULL;
    ls->closing = false;
    return pthread_mutex_init(&ls->mu, NULL) == 0;
}

void http_laters_destroy(http_laters *ls)
{
    pthread_mutex_destroy(&ls->mu);
}

static void unref(modq_http_later *l)
{
    bool last;

    pthread_mutex_lock(&l->mu);
    last = --l->refs == 0;
    pthread_mutex_unlock(&l->mu);
    if (last) {
        http_resp_clear(&l->resp);
        pthread_mutex_destroy(&l->mu);
        free(l);
    }
}

modq_http_later *modq_http_resp_later(modq_http_resp *r)
{
    modq_http_later *l, **slot;

    if (!r || !r->laters || !r->later || *r->later) {
        return NULL;
    }
    l = calloc(1, sizeof(*l));
    if (!l) {
        return NULL;
    }
    if (pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l);
        return NULL;
    }
    l->refs = 2;
    l->conn = r->conn;
    pthread_mutex_lock(&r->laters->mu);
    if (r->laters->closing) {
        pthread_mutex_unlock(&r->laters->mu);
        pthread_mutex_destroy(&l->mu);
        free(l);
        return NULL;
    }
    l->next = r->laters->head;
    if (l->next) {
        l->next->prev = l;
    }
    r->laters->head = l;
    pthread_mutex_unlock(&r->laters->mu);
    /* The route and headers set so far are the answer's; r itself is not sent. */
    slot = r->later;
    l->resp = *r;
    l->resp.laters = NULL;
    l->resp.conn = NULL;
    l->resp.later = NULL;
    http_resp_init(r);
    *slot = l;
    return l;
}

/* Stores the answer and wakes the connection; false when the server answered in the caller's
 * place (nothing stored). Takes the caller's reference. */
static bool give(modq_http_later *l, void (*fill)(modq_http_resp *, const void *), const void *arg)
{
    bool stored;

    pthread_mutex_lock(&l->mu);
    stored = !l->given;
    if (stored) {
        l->given = true;
        fill(&l->resp, arg);
        if (l->state == LATER_SUSPENDED) {
            MHD_resume_connection(l->conn);
        }
        if (l->state == LATER_IN_HANDLER || l->state == LATER_SUSPENDED) {
            l->state = LATER_READY;
        }
    }
    pthread_mutex_unlock(&l->mu);
    unref(l);
    return stored;
}

typedef struct json_answer {
    int status;
    json_t *js;
} json_answer;

static void fill_json(modq_http_resp *r, const void *arg)
{
    const json_answer *a = arg;
    modq_http_resp_json(r, a->status, a->js);
}

void modq_http_later_json(modq_http_later *l, int status, json_t *js)
{
    json_answer a = {status, js};

    if (!l || !give(l, fill_json, &a)) {
        json_decref(js); /* the answer was not stored, so js is still ours */
    }
}

typedef struct error_answer {
    int status;
    const char *code, *message;
    int retry_after_s;
} error_answer;

static void fill_error(modq_http_resp *r, const void *arg)
{
    const error_answer *a = arg;

    modq_http_resp_error(r, a->status, a->code, a->message);
    if (a->retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%d", a->retry_after_s);
        modq_http_resp_header(r, "Retry-After", v);
    }
}

void modq_http_later_error(modq_http_later *l, int status, const char *code, const char *message,
                           int retry_after_s)
{
    error_answer a = {status, code, message, retry_after_s};

    if (l) {
        (void)give(l, fill_error, &a);
    }
}

/* What the server answers in the caller's place when it stops first. */
static const error_answer CLOSING = {503, "unavailable", "The server is stopping; try again.", 2};

bool http_later_wait(modq_http_later *l, struct MHD_Connection *c)
{
    bool ready;

    pthread_mutex_lock(&l->mu);
    if (l->state == LATER_IN_HANDLER && l->closing) {
        l->given = true;
        fill_error(&l->resp, &CLOSING);
        l->state = LATER_READY;
    } else if (l->state == LATER_IN_HANDLER) {
        MHD_suspend_connection(c);
        l->state = LATER_SUSPENDED;
    }
    ready = l->state == LATER_READY;
    pthread_mutex_unlock(&l->mu);
    return ready;
}

modq_http_resp *http_later_resp(modq_http_later *l)
{
    return &l->resp;
}

void http_later_release(http_laters *ls, modq_http_later *l)
{
    pthread_mutex_lock(&ls->mu);
    if (l->prev) {
        l->prev->next = l->next;
    } else {
        ls->head = l->next;
    }
    if (l->next) {
        l->next->prev = l->prev;
    }
    l->prev = l->next = NULL;
    pthread_mutex_unlock(&ls->mu);
    pthread_mutex_lock(&l->mu);
    l->state = LATER_DONE;
    l->conn = NULL;
    pthread_mutex_unlock(&l->mu);
    unref(l);
}

void http_laters_close(http_laters *ls)
{
    pthread_mutex_lock(&ls->mu);
    ls->closing = true;
    for (modq_http_later *l = ls->head; l; l = l->next) {
        pthread_mutex_lock(&l->mu);
        l->closing = true;
        if (l->state == LATER_SUSPENDED) {
            if (!l->given) {
                l->given = true;
                fill_error(&l->resp, &CLOSING);
            }
            MHD_resume_connection(l->conn);
            l->state = LATER_READY;
        }
        pthread_mutex_unlock(&l->mu);
    }
    pthread_mutex_unlock(&ls->mu);
    /* libmicrohttpd closes a resumed connection at stop without serving it: give the pool a
     * moment to send those answers. Shutdown only, so a short poll is enough. */
    for (int i = 0; i < CLOSE_WAIT_MS / CLOSE_POLL_MS; i++) {
        struct timespec ts = {0, CLOSE_POLL_MS * 1000000L};
        bool empty;

        pthread_mutex_lock(&ls->mu);
        empty = ls->head == NULL;
        pthread_mutex_unlock(&ls->mu);
        if (empty) {
            break;
        }
        nanosleep(&ts, NULL);
    }
}
