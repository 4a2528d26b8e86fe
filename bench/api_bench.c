/*
 * api_bench.c: modq-bench-api, the load side of bench/api (see bench/README.md).
 *
 *   modq-bench-api run --url URL --tokens FILE [--associates N] [--seconds S] [--think-ms MS]
 *                      [--probes N] [--probe-ms MS] [--server-pid PID] [--phase NAME]
 *                      [--target-ms MS]
 *   modq-bench-api produce ... (api_produce.c: the review tickets, put on Kafka up front)
 *
 * run: N simulated associates (token i of FILE for associate i), each looping GET /v1/next ->
 * GET /v1/items/{id}/media at the item's open_level (its first reveal) -> POST
 * /v1/items/{id}/decision
 * {"verdict":"no_violation"} until /v1/next says nothing is waiting, or S seconds pass. With
 * --think-ms each pauses about that long (0.5x to 1.5x) after a decision, as a person would.
 * Beside them, a few probes ask GET /healthz at a steady pace: the cheapest route of the same
 * server under the same load, so the difference is what tokens, the desk and the policy add.
 *
 * All of it runs in one thread over epoll, one keep-alive HTTP/1.1 connection per associate and
 * probe (api_conn.c), opened before the clock starts, so the client takes as little as it can of
 * the two cores it shares with the worker. A latency runs from handing the request to the
 * kernel until the last byte of the answer is read, so it includes this client's own delays.
 *
 * It prints p50/p90/p99/max per route, requests per second, /v1/next over the run, CPU time, the
 * target line (PASS/MISS; --target-ms 0: a capacity line instead, for a phase the target is not
 * judged on) and one JSON line last.
 *
 * Exit status: 0 when the run completed (PASS or MISS alike), 1 when a request failed or the
 * run could not start, 2 on a usage error.
 */
#include "api_bench.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX          (64u * 1024) /* a /v1/next answer is about 1 KiB */
#define URL_MAX           1024
#define REQ_MAX           (API_TOKEN_MAX + 2048) /* one request, headers and body */
#define REQUEST_TIMEOUT_S 30.0
#define IDLE_REDIAL_S     20.0 /* the worker closes connections idle for 30 s */
#define ID_MAX            256
#define SAMPLES_MAX       (8u * 1024 * 1024) /* per route: 64 MiB at most; later ones are dropped */
#define SLICES            10
#define POLL_MS           50
#define EPOLL_BATCH       256
#define TARGET_P99_MS     20.0
#define ERR_MAX           256
#define DECISION_BODY     "{\"verdict\":\"no_violation\"}"

static const char *const ROUTE_NAMES[API_NROUTES] = {
    "GET /v1/next", "GET /v1/items/{id}/media", "POST /v1/items/{id}/decision", "GET /healthz"};
static const char *const ROUTE_KEYS[API_NROUTES] = {"next", "media", "decision", "healthz"};

/* Latencies of one route in µs, with when each answer came (ms since the start). */
typedef struct series {
    uint32_t *lat_us, *at_ms;
    size_t n, cap, dropped;
    unsigned long errors;
} series;

typedef struct agent {
    api_conn *c;
    const char *token; /* NULL for a probe: /healthz needs none */
    int route;
    bool probe, done, warm, busy, want_out;
    double t0_us, wake_us; /* wake_us > 0: sleeping until then (a probe's pace, a think time) */
    double last_us;        /* when the last answer came in */
    uint64_t rng;          /* think-time jitter */
    char id[ID_MAX];       /* the leased item, URL-escaped */
    int open_level;        /* where its first reveal opens (the item's open_level) */
    char req[REQ_MAX];     /* the request in flight, whole */
    unsigned long items;
} agent;

typedef struct bench {
    int ep; /* epoll over every connection, data.ptr = its agent */
    agent *a;
    size_t nassoc, nprobe, busy, working;                  /* working: associates not done */
    size_t thinking;                                       /* associates asleep between items */
    char host[URL_MAX], port[16], authority[URL_MAX + 32]; /* from --url http://HOST:PORT */
    double start_us, end_us, deadline_us, probe_us, think_us;
    series s[API_NROUTES];
    unsigned long long media_bytes;
    unsigned long denied;
    char first_err[ERR_MAX];
} bench;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* http://HOST:PORT[/] into b->host, b->port and b->authority (the Host header); -1 otherwise. */
static int parse_url(bench *b, const char *url)
{
    const char *h = url + 7, *colon, *end;
    size_t hl, pl;
    if (strncmp(url, "http://", 7) != 0 || !(colon = strrchr(h, ':'))) {
        return -1;
    }
    end = colon + 1 + strspn(colon + 1, "0123456789");
    hl = (size_t)(colon - h);
    pl = (size_t)(end - colon - 1);
    if (hl == 0 || hl >= sizeof b->host || pl == 0 || pl >= sizeof b->port ||
        (*end != '\0' && strcmp(end, "/") != 0)) {
        return -1;
    }
    memcpy(b->host, h, hl);
    b->host[hl] = '\0';
    memcpy(b->port, colon + 1, pl);
    b->port[pl] = '\0';
    snprintf(b->authority, sizeof b->authority, "%s:%s", b->host, b->port);
    /* [::1]:8080 names the address without its brackets for getaddrinfo */
    if (b->host[0] == '[' && b->host[hl - 1] == ']') {
        memmove(b->host, b->host + 1, hl - 2);
        b->host[hl - 2] = '\0';
    }
    return 0;
}

/* Appends one sample; past SAMPLES_MAX it is counted as dropped rather than grown further. */
static int series_add(series *s, double lat_us, double at_ms)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4096;
        uint32_t *l, *a;
        if (s->cap >= SAMPLES_MAX) {
            s->dropped++;
            return 0;
        }
        if (cap > SAMPLES_MAX) {
            cap = SAMPLES_MAX;
        }
        if (!(l = realloc(s->lat_us, cap * sizeof *l))) {
            return -1;
        }
        s->lat_us = l;
        if (!(a = realloc(s->at_ms, cap * sizeof *a))) {
            return -1;
        }
        s->at_ms = a;
        s->cap = cap;
    }
    s->lat_us[s->n] = lat_us < 0 ? 0 : lat_us > UINT32_MAX ? UINT32_MAX : (uint32_t)lat_us;
    s->at_ms[s->n] = at_ms < 0 ? 0 : (uint32_t)at_ms;
    s->n++;
    return 0;
}

/* Watches a's socket for answers, and for room to write while a request is part sent. */
static int watch(bench *b, agent *a, bool out, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0u), .data.ptr = a};
    a->want_out = out;
    return epoll_ctl(b->ep, op, api_conn_fd(a->c), &ev);
}

static void stop_agent(bench *b, agent *a)
{
    if (!a->done && !a->probe) {
        b->working--;
    }
    a->done = true;
}

static void note_error(bench *b, agent *a, const char *what)
{
    b->s[a->route].errors++;
    if (b->first_err[0] == '\0') {
        /* A bad status says what the server said, from the start of its body. */
        size_t len = 0;
        const char *body = api_conn_status(a->c) ? api_conn_body(a->c, &len) : "";
        snprintf(b->first_err, sizeof b->first_err, "%s: %s, HTTP %d: %.*s", ROUTE_NAMES[a->route],
                 what, api_conn_status(a->c), (int)(len < 120 ? len : 120), body);
    }
}

/* A connection that failed takes its agent out of the run: the error is reported, and nothing
 * more is sent on a connection whose state is unknown. */
static void fail(bench *b, agent *a, const char *what)
{
    note_error(b, a, what);
    if (a->busy) {
        a->busy = false;
        b->busy--;
    }
    epoll_ctl(b->ep, EPOLL_CTL_DEL, api_conn_fd(a->c), NULL);
    stop_agent(b, a);
}

/* Sets a's next request (route) going: the clock starts when its first byte is handed to the
 * kernel. -1 only when the request does not fit (a bug); a connection failure is fail(). */
static int start(bench *b, agent *a, int route)
{
    int w, sent;
    char auth[API_TOKEN_MAX + 32] = "";
    a->route = route;
    if (a->token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", a->token);
    }
    if (route == API_NEXT) {
        w = snprintf(a->req, sizeof a->req, "GET /v1/next HTTP/1.1\r\nHost: %s\r\n%s\r\n",
                     b->authority, auth);
    } else if (route == API_MEDIA) {
        w = snprintf(a->req, sizeof a->req,
                     "GET /v1/items/%s/media?level=%d HTTP/1.1\r\nHost: %s\r\n%s\r\n", a->id,
                     a->open_level, b->authority, auth);
    } else if (route == API_DECISION) {
        w = snprintf(a->req, sizeof a->req,
                     "POST /v1/items/%s/decision HTTP/1.1\r\nHost: %s\r\n%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     a->id, b->authority, auth, strlen(DECISION_BODY), DECISION_BODY);
    } else {
        w = snprintf(a->req, sizeof a->req, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n",
                     b->authority);
    }
    if (w < 0 || (size_t)w >= sizeof a->req) {
        return -1;
    }
    /* After a long think the worker may be closing this connection just as the request goes
     * out, and the request would fail for nothing a person would see: a new connection is
     * opened first, before the clock starts, as a browser's pool drops stale ones. */
    if (a->last_us > 0 && now_us() - a->last_us > IDLE_REDIAL_S * 1e6) {
        epoll_ctl(b->ep, EPOLL_CTL_DEL, api_conn_fd(a->c), NULL);
        if (api_conn_reconnect(a->c) != 0 || watch(b, a, false, EPOLL_CTL_ADD) != 0) {
            fail(b, a, "reconnect failed");
            return 0;
        }
    }
    a->busy = true;
    b->busy++;
    a->t0_us = now_us();
    if ((sent = api_conn_send(a->c, a->req, (size_t)w)) < 0) {
        fail(b, a, "send failed");
    } else if (sent == 0 && watch(b, a, true, EPOLL_CTL_MOD) != 0) {
        fail(b, a, "epoll failed");
    }
    return 0;
}

/* Percent-encodes an item id for its path segment into out; -1 when it does not fit. */
static int escape_id(const char *id, char *out, size_t outsz)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL;
        if (o + (plain ? 1 : 3) >= outsz) {
            return -1;
        }
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

/* The item id of a /v1/next answer into a->id (escaped); 1 = an item, 0 = none, -1 = bad. */
static int next_item(agent *a)
{
    json_t *root, *item;
    const char *id, *body;
    size_t len;
    int rc = -1;

    body = api_conn_body(a->c, &len);
    if (len > BODY_MAX || !(root = json_loadb(body, len, 0, NULL))) {
        return -1;
    }
    item = json_object_get(root, "item");
    if (json_is_null(item)) {
        rc = 0;
    } else if ((id = json_string_value(json_object_get(item, "id"))) != NULL) {
        json_int_t lv = json_integer_value(json_object_get(item, "open_level"));
        a->open_level = lv >= 0 && lv <= 3 ? (int)lv : 3;
        rc = escape_id(id, a->id, sizeof a->id) == 0 ? 1 : -1;
    }
    json_decref(root);
    return rc;
}

/* a's answer is in: records it and says what a does next (-1: out of memory or a bug). */
static int finish(bench *b, agent *a, double t1)
{
    int route = a->route, then = -1, got = 0, status = api_conn_status(a->c);
    size_t len = 0;
    bool ok = status == 200;

    a->busy = false;
    b->busy--;
    a->last_us = t1;
    if (a->warm) {
        a->warm = false;
        if (!ok) {
            note_error(b, a, "warm-up");
            stop_agent(b, a);
        }
        return 0;
    }
    if (ok && series_add(&b->s[route], t1 - a->t0_us, (t1 - b->start_us) / 1e3) != 0) {
        return -1;
    }
    if (route == API_MEDIA && ok) {
        api_conn_body(a->c, &len);
        b->media_bytes += len;
    }
    if (route == API_NEXT && status == 423) {
        b->denied++; /* the bench policy should never refuse: the report says so */
        stop_agent(b, a);
        return 0;
    }
    if (!ok || (route == API_NEXT && (got = next_item(a)) < 0)) {
        note_error(b, a, ok ? "an answer without an item" : "not 200");
        stop_agent(b, a);
        return 0;
    }
    if (route == API_NEXT) {
        then = got ? API_MEDIA : -1;
    } else if (route == API_MEDIA) {
        then = API_DECISION;
    } else if (route == API_DECISION) {
        a->items++, then = API_NEXT;
    }
    if (a->probe) {
        a->wake_us = t1 + b->probe_us;
        return 0;
    }
    /* Past the deadline nobody starts anything; an associate with nothing waiting is done. */
    if (then < 0 || t1 >= b->deadline_us) {
        stop_agent(b, a);
        return 0;
    }
    if (then == API_NEXT && b->think_us > 0) {
        /* xorshift64: 0.5 to 1.5 times the think time, so associates do not move in step. */
        a->rng ^= a->rng << 13, a->rng ^= a->rng >> 7, a->rng ^= a->rng << 17;
        a->wake_us = t1 + b->think_us * (0.5 + (double)(a->rng >> 11) / 9007199254740992.0);
        b->thinking++;
        return 0;
    }
    return start(b, a, then);
}

/* One socket event for a: the rest of its request out, or its answer in. */
static int on_event(bench *b, agent *a, uint32_t events)
{
    int r;
    if (!a->busy) {
        /* Between requests only a close is expected: the worker drops connections idle for
         * 30 s, which a long think time reaches. The next request goes on a new one. Either
         * way the socket leaves epoll, which would otherwise report it again at once. */
        bool closed = api_conn_closed(a->c);
        epoll_ctl(b->ep, EPOLL_CTL_DEL, api_conn_fd(a->c), NULL);
        if (a->done) {
            return 0;
        }
        if (!closed) {
            fail(b, a, "bytes nobody asked for between requests");
        } else if (api_conn_reconnect(a->c) != 0 || watch(b, a, false, EPOLL_CTL_ADD) != 0) {
            fail(b, a, "reconnect failed");
        }
        return 0;
    }
    if ((events & EPOLLOUT) && a->want_out) {
        if ((r = api_conn_writable(a->c)) < 0) {
            fail(b, a, "send failed");
            return 0;
        }
        if (r == 1 && watch(b, a, false, EPOLL_CTL_MOD) != 0) {
            fail(b, a, "epoll failed");
            return 0;
        }
    }
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        return 0;
    }
    if ((r = api_conn_readable(a->c)) < 0) {
        fail(b, a, "connection failed or answer not plain HTTP/1.1");
        return 0;
    }
    return r == 1 ? finish(b, a, now_us()) : 0;
}

/* Runs until nothing is in flight; probes run while associates work. */
static int drive(bench *b)
{
    struct epoll_event ev[EPOLL_BATCH];
    while (b->busy > 0 || b->thinking > 0) {
        int n;
        double t = now_us(), wait_ms = POLL_MS;

        /* Sleepers whose time has come: associates back from thinking, probes on their pace.
         * Once the associates are done or the time is up, nobody starts again. A request
         * without an answer after REQUEST_TIMEOUT_S fails its agent. */
        for (size_t i = 0; i < b->nassoc + b->nprobe; i++) {
            agent *p = &b->a[i];
            bool over = b->working == 0 || t >= b->deadline_us;
            if (p->busy && t - p->t0_us > REQUEST_TIMEOUT_S * 1e6) {
                fail(b, p, "no answer in time");
                continue;
            }
            if (p->wake_us <= 0 || (!over && p->wake_us > t)) {
                if (p->wake_us > 0 && (p->wake_us - t) / 1e3 < wait_ms) {
                    wait_ms = (p->wake_us - t) / 1e3;
                }
                continue;
            }
            p->wake_us = 0;
            if (!p->probe) {
                b->thinking--;
            }
            if (over || p->done) {
                stop_agent(b, p);
            } else if (start(b, p, p->probe ? API_HEALTHZ : API_NEXT) != 0) {
                return -1;
            }
        }
        n = epoll_wait(b->ep, ev, EPOLL_BATCH, wait_ms > 0 ? (int)(wait_ms + 0.999) : 0);
        if (n < 0 && errno != EINTR) {
            return -1;
        }
        for (int i = 0; i < n; i++) {
            if (on_event(b, (agent *)ev[i].data.ptr, ev[i].events) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    api_run_opts o = {.associates = 200,
                      .seconds = 60,
                      .probes = 4,
                      .probe_ms = 10,
                      .phase = "run",
                      .target_ms = TARGET_P99_MS};
    bench b = {.ep = -1};
    char **toks = NULL, *tokbuf = NULL, err[ERR_MAX] = "";
    api_cpu c0 = {0}, c1 = {0};
    int rc;

    if (argc >= 2 && strcmp(argv[1], "produce") == 0) {
        return api_produce_main(argc - 1, argv + 1);
    }
    if ((rc = api_opts_parse(argc, argv, &o)) != 0) {
        return rc;
    }
    rc = 1;
    if (!(toks = calloc(o.associates, sizeof *toks)) ||
        !(b.a = calloc(o.associates + o.probes, sizeof *b.a)) ||
        (b.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    b.nassoc = o.associates;
    b.nprobe = o.probes;
    b.probe_us = o.probe_ms * 1e3;
    b.think_us = o.think_ms * 1e3;
    if (parse_url(&b, o.url) != 0) {
        snprintf(err, sizeof err, "--url wants http://HOST:PORT, not '%.200s'", o.url);
        goto out;
    }
    if (api_opts_read_tokens(o.tokens, b.nassoc, &tokbuf, toks, err, sizeof err) != 0) {
        goto out;
    }
    /* Every connection stays open between requests: one per associate and probe. */
    for (size_t i = 0; i < b.nassoc + b.nprobe; i++) {
        agent *a = &b.a[i];
        if (!(a->c = api_conn_open(b.host, b.port, err, sizeof err))) {
            goto out;
        }
        if (watch(&b, a, false, EPOLL_CTL_ADD) != 0) {
            snprintf(err, sizeof err, "epoll: %s", strerror(errno));
            goto out;
        }
        a->probe = i >= b.nassoc;
        a->token = a->probe ? NULL : toks[i];
        a->rng = 0x9e3779b97f4a7c15ULL * (i + 1); /* any non-zero seed, fixed per run */
    }
    /* Warm-up, not timed: one /healthz per connection, so the worker has taken each one in. */
    b.working = b.nassoc;
    b.deadline_us = now_us() + 60e6;
    for (size_t i = 0; i < b.nassoc + b.nprobe; i++) {
        b.a[i].warm = true;
        if (start(&b, &b.a[i], API_HEALTHZ) != 0) {
            goto out;
        }
    }
    if (drive(&b) != 0 || b.first_err[0]) {
        snprintf(err, sizeof err, "warm-up: %.200s", b.first_err[0] ? b.first_err : "epoll failed");
        goto out;
    }
    api_cpu_read(o.server_pid, &c0);
    b.start_us = now_us();
    b.deadline_us = b.start_us + o.seconds * 1e6;
    for (size_t i = 0; i < b.nassoc; i++) {
        /* With a think time, first requests are spread over one think time as people's would
         * be; without, all start at once, which is the point of a saturation run. */
        if (b.think_us > 0) {
            b.a[i].wake_us = b.start_us + b.think_us * (double)i / (double)b.nassoc + 1.0;
            b.thinking++;
        } else if (start(&b, &b.a[i], API_NEXT) != 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < b.nprobe; i++) { /* spread over one period, not all at once */
        b.a[b.nassoc + i].wake_us = b.start_us + b.probe_us * (double)(i + 1) / (double)b.nprobe;
    }
    if (drive(&b) != 0) {
        snprintf(err, sizeof err, "epoll or memory failed during the run");
        goto out;
    }
    b.end_us = now_us();
    api_cpu_read(o.server_pid, &c1);
    {
        api_result res = {.opts = &o,
                          .seconds = (b.end_us - b.start_us) / 1e6,
                          .media_bytes = b.media_bytes,
                          .denied = b.denied,
                          .first_error = b.first_err,
                          .cpu0 = c0,
                          .cpu1 = c1};
        for (size_t i = 0; i < b.nassoc; i++) {
            res.items += b.a[i].items;
        }
        for (int r = 0; r < API_NROUTES; r++) {
            res.routes[r] = (api_route){ROUTE_NAMES[r], ROUTE_KEYS[r],  b.s[r].lat_us, b.s[r].at_ms,
                                        b.s[r].n,       b.s[r].dropped, b.s[r].errors};
        }
        rc = api_report(&res, SLICES) == 0 && !b.first_err[0] && !b.denied ? 0 : 1;
    }
out:
    if (err[0]) {
        fprintf(stderr, "modq-bench-api: %s\n", err);
    }
    for (size_t i = 0; b.a && i < b.nassoc + b.nprobe; i++) {
        api_conn_close(b.a[i].c);
    }
    if (b.ep >= 0) {
        close(b.ep);
    }
    for (int r = 0; r < API_NROUTES; r++) {
        free(b.s[r].lat_us);
        free(b.s[r].at_ms);
    }
    free(b.a);
    free(toks);
    free(tokbuf);
    return rc;
}
