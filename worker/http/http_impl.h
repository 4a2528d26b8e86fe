/*
 * http_impl.h: the private layout shared by http.c (daemon, routing, answers), http_resp.c (the
 * request and response objects a handler sees), http_static.c (the static files held in
 * memory) and http_deadline.c (the time a client has to send a request).
 */
#ifndef MODQ_WORKER_HTTP_IMPL_H
#define MODQ_WORKER_HTTP_IMPL_H

#include "http.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>

#define HTTP_MIME_MAX         128  /* bytes of a handler's content type */
#define HTTP_HEADER_NAME_MAX  64   /* bytes of a handler's extra header name */
#define HTTP_HEADER_VALUE_MAX 4096 /* bytes of its value */

#define HTTP_METRIC_TIMEOUTS "modq_http_request_timeouts_total"

/* A name and its value, of a request built in memory. */
typedef struct http_kv {
    const char *name, *value; /* value NULL: present without one ("?flag") */
} http_kv;

struct modq_http_req {
    struct MHD_Connection *conn; /* NULL: a request built in memory, values from the lists */
    const char *method, *path;
    const char *body; /* never NULL; NUL-terminated */
    size_t body_len;
    /* Without a connection: the query arguments (URL-decoded) and the headers, as
     * libmicrohttpd would have parsed them. A handler can so be driven without a socket (the
     * fuzzing harness of the review API's routes does). */
    const http_kv *args, *headers;
    size_t nargs, nheaders;
};

typedef struct http_header {
    char *name, *value;
} http_header;

struct modq_http_resp {
    int status;
    bool filled; /* a resp_* call set status and body */
    bool nomem;  /* building the answer ran out of memory: a fixed 500 goes out instead */
    char *body;  /* malloc'd, or NULL for an empty body */
    size_t body_len;
    char mime[HTTP_MIME_MAX];
    http_header headers[MODQ_HTTP_MAX_HEADERS];
    size_t nheaders;
    char *cache_control; /* the handler's own Cache-Control, or NULL for the default */
    const char *route;   /* static string */
    /* Where modq_http_resp_later may defer the answer (NULL laters: it cannot, e.g. a request
     * built in memory). Set by the server for the handler call only. */
    struct http_laters *laters;
    struct MHD_Connection *conn;
    modq_http_later **later; /* the request's slot for it */
};

/* http_resp.c */
void http_resp_init(modq_http_resp *r);
/* Frees what the response owns; it can be reused after http_resp_init. */
void http_resp_clear(modq_http_resp *r);
/* Hands the body to the caller (who frees it) and leaves the response without one. */
char *http_resp_take_body(modq_http_resp *r, size_t *len);

/*
 * http_later.c: answers given after the handler returned (modq_http_resp_later). The server
 * keeps its laters that still have a connection in one list, so that it can answer them before
 * it stops (libmicrohttpd must not stop with a connection suspended).
 */
typedef struct http_laters {
    pthread_mutex_t mu; /* guards the list and closing; taken before a later's own lock */
    modq_http_later *head;
    bool closing;
} http_laters;

bool http_laters_init(http_laters *ls);
/* Answers every later still waiting 503 (the server is stopping) and refuses new ones; call
 * before the daemon stops. */
void http_laters_close(http_laters *ls);
void http_laters_destroy(http_laters *ls);
/* After the handler deferred its answer: true when the answer is ready now (send it with
 * http_later_resp); otherwise c is suspended until the answer comes, and the access handler is
 * called again then. */
bool http_later_wait(modq_http_later *l, struct MHD_Connection *c);
/* The answer, once ready (the server's to send, then http_later_release). */
modq_http_resp *http_later_resp(modq_http_later *l);
/* The connection is done with l (answered, or closed): drops the server's reference. */
void http_later_release(http_laters *ls, modq_http_later *l);

/* http_static.c: files of one directory, read at start. */
typedef struct http_file {
    char *name;       /* as served under /static/ */
    const char *mime; /* static string */
    uint8_t *data;
    size_t len;
} http_file;

typedef struct http_static {
    http_file files[MODQ_HTTP_MAX_STATIC];
    size_t nfiles;
} http_static;

/* Reads every servable file of dir into st (freed with http_static_free, also on failure). */
modq_http_result http_static_load(http_static *st, const char *dir, char *errstr,
                                  size_t errstr_size);
void http_static_free(http_static *st);
/* true when name may be served: [A-Za-z0-9._-], no leading '.', a known extension. */
bool http_static_name_ok(const char *name);
/* The file served as name, or NULL. */
const http_file *http_static_find(const http_static *st, const char *name);

/*
 * http_deadline.c: a connection must deliver each whole request (head and body) within
 * timeout_ms of its opening, or of the end of its previous answer; past that, its socket is shut
 * down (counted in HTTP_METRIC_TIMEOUTS when metrics is given, declared by the caller). A
 * sweeper thread runs from http_deadline_new to http_deadline_free; free only after the daemon
 * has stopped. The notify function is the daemon's MHD_OPTION_NOTIFY_CONNECTION (cls: the
 * http_deadline); the two others are called from the access handler and the completion
 * callback, on the connection's own thread.
 */
typedef struct http_deadline http_deadline;

modq_http_result http_deadline_new(int64_t timeout_ms, modq_metrics *metrics, http_deadline **out);
void http_deadline_free(http_deadline *d);
void http_deadline_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code);
/* The request on c has arrived whole: its clock stops while it is answered. */
void http_deadline_arrived(http_deadline *d, struct MHD_Connection *c);
/* The answer on c has gone: the clock of the next request on a kept-alive connection starts. */
void http_deadline_rearm(http_deadline *d, struct MHD_Connection *c);

#endif
