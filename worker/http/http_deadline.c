/*
 * http_deadline.c: the time a client has to send a whole request (see http_impl.h).
 *
 * libmicrohttpd only closes a connection that stays silent for its idle timeout, so a client
 * trickling one header byte at a time holds its connection for ever (slowloris). Here every
 * connection is tracked from its opening (NOTIFY_CONNECTION) with a deadline: the opening, or the
 * end of the previous answer on a kept-alive connection, plus the timeout. The deadline is
 * disarmed when the request has arrived whole (head and body), and armed again once its answer
 * has gone. A sweeper thread shuts down the socket of every connection past its deadline;
 * libmicrohttpd then reads the end of the stream and closes the connection itself, so the
 * connection and its socket stay libmicrohttpd's to free.
 *
 * Why shutdown() and not close(): the descriptor remains libmicrohttpd's, so it cannot be reused
 * under it. The entry of a connection is removed (under the lock) in the CLOSED notification,
 * which libmicrohttpd sends before it closes the descriptor, so the sweeper never shuts down a
 * descriptor that belongs to something else.
 */
#include "http_impl.h"
#include "modq_common.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define SWEEP_MAX_MS 250 /* longest pause between sweeps: a deadline is kept within this */
#define SWEEP_MIN_MS 10

/* One open connection. deadline_ms 0: disarmed (a request is being answered). */
typedef struct http_conn {
    struct http_conn *prev, *next;
    MHD_socket fd;
    int64_t deadline_ms;
    bool shut; /* shut down by the sweeper; libmicrohttpd has yet to close it */
} http_conn;

struct http_deadline {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC: wakes the sweeper to stop */
    pthread_t sweeper;
    bool stop;
    http_conn *head; /* every open connection */
    int64_t timeout_ms;
    modq_metrics *metrics;
};

/* Shuts down the sockets past their deadline (called with the lock held); returns how many. */
static unsigned sweep(http_deadline *d, int64_t now)
{
    unsigned n = 0;

    for (http_conn *e = d->head; e; e = e->next) {
        if (e->shut || e->deadline_ms == 0 || now < e->deadline_ms) {
            continue;
        }
        /* The peer sees the connection end; libmicrohttpd sees the end of the stream. */
        shutdown(e->fd, SHUT_RDWR);
        e->shut = true;
        n++;
    }
    return n;
}

static void *sweeper_main(void *arg)
{
    http_deadline *d = arg;
    int64_t step = d->timeout_ms / 4;
    struct timespec at;

    if (step > SWEEP_MAX_MS) {
        step = SWEEP_MAX_MS;
    }
    if (step < SWEEP_MIN_MS) {
        step = SWEEP_MIN_MS;
    }
    pthread_mutex_lock(&d->mu);
    while (!d->stop) {
        unsigned closed = sweep(d, modq_clock_mono_ms());

        if (closed > 0 && d->metrics) {
            /* The registry has its own lock, never held while taking ours. */
            pthread_mutex_unlock(&d->mu);
            modq_metrics_add(d->metrics, HTTP_METRIC_TIMEOUTS, NULL, closed);
            pthread_mutex_lock(&d->mu);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &at);
        at.tv_nsec += (long)(step % 1000) * 1000000L;
        at.tv_sec += (time_t)(step / 1000) + at.tv_nsec / 1000000000L;
        at.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&d->cv, &d->mu, &at);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

modq_http_result http_deadline_new(int64_t timeout_ms, modq_metrics *metrics, http_deadline **out)
{
    http_deadline *d = calloc(1, sizeof(*d));
    pthread_condattr_t ca;
    bool cv = false, mu = false;

    *out = NULL;
    if (!d) {
        return MODQ_HTTP_ERR_NOMEM;
    }
    d->timeout_ms = timeout_ms;
    d->metrics = metrics;
    if (pthread_mutex_init(&d->mu, NULL) != 0) {
        goto fail;
    }
    mu = true;
    if (pthread_condattr_init(&ca) != 0) {
        goto fail;
    }
    cv =
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&d->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!cv || pthread_create(&d->sweeper, NULL, sweeper_main, d) != 0) {
        goto fail;
    }
    *out = d;
    return MODQ_HTTP_OK;
fail:
    if (cv) {
        pthread_cond_destroy(&d->cv);
    }
    if (mu) {
        pthread_mutex_destroy(&d->mu);
    }
    free(d);
    return MODQ_HTTP_ERR_NOMEM;
}

void http_deadline_free(http_deadline *d)
{
    if (!d) {
        return;
    }
    pthread_mutex_lock(&d->mu);
    d->stop = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->sweeper, NULL);
    /* The daemon is stopped first: every connection has had its CLOSED notification. */
    while (d->head) {
        http_conn *e = d->head;
        d->head = e->next;
        free(e);
    }
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

static void opened(http_deadline *d, struct MHD_Connection *c, void **socket_context)
{
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    http_conn *e = calloc(1, sizeof(*e));

    *socket_context = e;
    if (!fd || !e) {
        /* Untracked, it could be held for ever: it is refused instead. */
        if (fd) {
            shutdown(fd->connect_fd, SHUT_RDWR);
        }
        return;
    }
    e->fd = fd->connect_fd;
    pthread_mutex_lock(&d->mu);
    e->deadline_ms = modq_clock_mono_ms() + d->timeout_ms;
    e->next = d->head;
    if (d->head) {
        d->head->prev = e;
    }
    d->head = e;
    pthread_mutex_unlock(&d->mu);
}

static void closed(http_deadline *d, void **socket_context)
{
    http_conn *e = *socket_context;

    if (!e) {
        return;
    }
    pthread_mutex_lock(&d->mu);
    if (e->prev) {
        e->prev->next = e->next;
    } else {
        d->head = e->next;
    }
    if (e->next) {
        e->next->prev = e->prev;
    }
    pthread_mutex_unlock(&d->mu);
    free(e);
    *socket_context = NULL;
}

void http_deadline_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        opened(cls, c, socket_context);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        closed(cls, socket_context);
    }
}

/* Sets the deadline of c's entry: 0 disarms it, else it runs from now. */
static void set_deadline(http_deadline *d, struct MHD_Connection *c, bool armed)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    http_conn *e = ci ? ci->socket_context : NULL;

    if (!e) {
        return;
    }
    pthread_mutex_lock(&d->mu);
    e->deadline_ms = armed ? modq_clock_mono_ms() + d->timeout_ms : 0;
    pthread_mutex_unlock(&d->mu);
}

void http_deadline_arrived(http_deadline *d, struct MHD_Connection *c)
{
    set_deadline(d, c, false);
}

void http_deadline_rearm(http_deadline *d, struct MHD_Connection *c)
{
    set_deadline(d, c, true);
}
