/*
 * api_bench.c: modq-bench-api, the load side of bench/api (see bench/README.md).
 *
 *   modq-bench-api run --url URL --tokens FILE [--associates N] [--seconds S] [--think-ms MS]
 *                      [--probes N] [--probe-ms MS] [--server-pid PID]
 *   modq-bench-api produce ... (api_produce.c: the review tickets, put on Kafka up front)
 *
 * run: N simulated associates (token i of FILE for associate i), each looping GET /v1/next ->
 * GET /v1/items/{id}/media (the item's own level) -> POST /v1/items/{id}/decision
 * {"verdict":"no_violation"} until /v1/next says nothing is waiting, or S seconds pass. With
 * --think-ms each pauses about that long (0.5x to 1.5x) after a decision, as a person would.
 * Beside them, a few probes ask GET /healthz at a steady pace: the cheapest route of the same
 * server under the same load, so the difference is what tokens, the desk and the policy add.
 *
 * All of it runs on one libcurl multi handle (socket interface over epoll) in one thread, with
 * keep-alive connections opened before the clock starts, so the client takes as little as it
 * can of the two cores it shares with the worker. A latency runs from handing the request to
 * libcurl until libcurl reports it done, so it includes this client's own delays.
 *
 * It prints p50/p90/p99/max per route, requests per second, /v1/next over the run, CPU time, the
 * target line (PASS/MISS) and one JSON line last.
 *
 * Exit status: 0 when the run completed (PASS or MISS alike), 1 when a request failed or the
 * run could not start, 2 on a usage error.
 */
#include "api_bench.h"

#include <curl/curl.h>
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

#define MAX_ASSOCIATES 2000
#define MAX_PROBES     64
#define MAX_SECONDS    3600
#define TOKENS_MAX     (8u * 1024 * 1024) /* the tokens file, whole */
#define TOKEN_MAX      4096
#define BODY_MAX       (64u * 1024) /* a /v1/next answer is about 1 KiB */
#define URL_MAX        1024
#define ID_MAX         256
#define SAMPLES_MAX    (8u * 1024 * 1024) /* per route: 64 MiB at most; later ones are dropped */
#define SLICES         10
#define POLL_MS        50
#define EPOLL_BATCH    256
#define TARGET_P99_MS  20.0
#define ERR_MAX        256
#define DECISION_BODY  "{\"verdict\":\"no_violation\"}"

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
    CURL *h;
    struct curl_slist *hdr;
    int route;
    bool probe, done, warm;
    double t0_us, wake_us; /* wake_us > 0: sleeping until then (a probe's pace, a think time) */
    uint64_t rng;          /* think-time jitter */
    char id[ID_MAX];       /* the leased item, URL-escaped */
    char url[URL_MAX];
    char body[BODY_MAX];
    size_t len;
    bool overflow;
    unsigned long items;
} agent;

typedef struct bench {
    CURLM *m;
    int ep;          /* epoll: the sockets libcurl asked to watch */
    double timer_us; /* when libcurl wants CURL_SOCKET_TIMEOUT; < 0: never */
    agent *a;
    size_t nassoc, nprobe, busy, working; /* working: associates not done */
    size_t thinking;                      /* associates asleep between items */
    const char *base;
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

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
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
        if (cap > SAMPLES_MAX)
            cap = SAMPLES_MAX;
        if (!(l = realloc(s->lat_us, cap * sizeof *l)))
            return -1;
        s->lat_us = l;
        if (!(a = realloc(s->at_ms, cap * sizeof *a)))
            return -1;
        s->at_ms = a;
        s->cap = cap;
    }
    s->lat_us[s->n] = lat_us < 0 ? 0 : lat_us > UINT32_MAX ? UINT32_MAX : (uint32_t)lat_us;
    s->at_ms[s->n] = at_ms < 0 ? 0 : (uint32_t)at_ms;
    s->n++;
    return 0;
}

/* Keeps a /v1/next answer (capped: one that does not fit is an error); other bodies are only
 * counted, as a page would hand the image to the browser. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    agent *a = arg;
    size_t n = size * nmemb;
    if (a->route != API_NEXT) {
        a->len += n;
    } else if (a->len + n < sizeof a->body) {
        memcpy(a->body + a->len, p, n);
        a->len += n;
    } else {
        a->overflow = true;
    }
    return n;
}

/* Sets a's next request (route) going: the clock starts when it is handed to libcurl. */
static int start(bench *b, agent *a, int route)
{
    int w;
    a->route = route;
    a->len = 0;
    a->overflow = false;
    if (route == API_NEXT)
        w = snprintf(a->url, sizeof a->url, "%s/v1/next", b->base);
    else if (route == API_MEDIA)
        w = snprintf(a->url, sizeof a->url, "%s/v1/items/%s/media", b->base, a->id);
    else if (route == API_DECISION)
        w = snprintf(a->url, sizeof a->url, "%s/v1/items/%s/decision", b->base, a->id);
    else
        w = snprintf(a->url, sizeof a->url, "%s/healthz", b->base);
    if (w < 0 || (size_t)w >= sizeof a->url)
        return -1;
    curl_easy_setopt(a->h, CURLOPT_URL, a->url);
    if (route == API_DECISION) {
        curl_easy_setopt(a->h, CURLOPT_POSTFIELDS, DECISION_BODY);
        curl_easy_setopt(a->h, CURLOPT_POSTFIELDSIZE, (long)strlen(DECISION_BODY));
    } else {
        curl_easy_setopt(a->h, CURLOPT_HTTPGET, 1L);
    }
    a->t0_us = now_us();
    if (curl_multi_add_handle(b->m, a->h) != CURLM_OK)
        return -1;
    b->busy++;
    return 0;
}

static void stop_agent(bench *b, agent *a)
{
    if (!a->done && !a->probe)
        b->working--;
    a->done = true;
}

static void note_error(bench *b, agent *a, CURLcode cr, long status)
{
    b->s[a->route].errors++;
    if (b->first_err[0] == '\0') {
        /* Only a /v1/next body is kept (a->len < sizeof a->body): say what the server said. */
        int shown = a->route == API_NEXT ? (int)(a->len < 120 ? a->len : 120) : 0;
        snprintf(b->first_err, sizeof b->first_err, "%s: %s, HTTP %ld: %.*s", ROUTE_NAMES[a->route],
                 curl_easy_strerror(cr), status, shown, a->body);
    }
}

/* The item id of a /v1/next answer into a->id (escaped); 1 = an item, 0 = none, -1 = bad. */
static int next_item(agent *a)
{
    json_t *root, *item;
    const char *id;
    char *esc;
    int rc = -1;

    a->body[a->len] = '\0';
    if (a->overflow || !(root = json_loadb(a->body, a->len, 0, NULL)))
        return -1;
    item = json_object_get(root, "item");
    if (json_is_null(item)) {
        rc = 0;
    } else if ((id = json_string_value(json_object_get(item, "id"))) != NULL &&
               (esc = curl_easy_escape(NULL, id, 0)) != NULL) {
        if (strlen(esc) < sizeof a->id) {
            memcpy(a->id, esc, strlen(esc) + 1);
            rc = 1;
        }
        curl_free(esc);
    }
    json_decref(root);
    return rc;
}

/* One answer for a: records it and says what a does next (-1: out of memory). */
static int finish(bench *b, agent *a, CURLcode cr, double t1)
{
    long status = 0;
    int route = a->route, then = -1, got = 0;
    bool ok;

    curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &status);
    ok = cr == CURLE_OK && status == 200;
    if (a->warm) {
        a->warm = false;
        if (!ok) {
            note_error(b, a, cr, status);
            stop_agent(b, a);
        }
        return 0;
    }
    if (ok && series_add(&b->s[route], t1 - a->t0_us, (t1 - b->start_us) / 1e3) != 0)
        return -1;
    if (route == API_MEDIA && ok)
        b->media_bytes += a->len;
    if (route == API_NEXT && cr == CURLE_OK && status == 423) {
        b->denied++; /* the bench policy should never refuse: the report says so */
        stop_agent(b, a);
        return 0;
    }
    if (!ok || (route == API_NEXT && (got = next_item(a)) < 0)) {
        note_error(b, a, cr, status);
        stop_agent(b, a);
        return 0;
    }
    if (route == API_NEXT)
        then = got ? API_MEDIA : -1;
    else if (route == API_MEDIA)
        then = API_DECISION;
    else if (route == API_DECISION)
        a->items++, then = API_NEXT;
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
    return start(b, a, then) == 0 ? 0 : -1;
}

/* libcurl says which sockets to watch for what: epoll follows (socket_action interface, so
 * a turn costs the sockets that are ready, not all 200 connections). */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
    bench *b = arg;
    struct epoll_event ev = {0};
    (void)e, (void)sockp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(b->ep, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    if (epoll_ctl(b->ep, EPOLL_CTL_MOD, fd, &ev) != 0 &&
        (errno != ENOENT || epoll_ctl(b->ep, EPOLL_CTL_ADD, fd, &ev) != 0))
        return -1;
    return 0;
}

static int on_timer(CURLM *m, long ms, void *arg)
{
    bench *b = arg;
    (void)m;
    b->timer_us = ms < 0 ? -1.0 : now_us() + (double)ms * 1e3;
    return 0;
}

/* Hands every finished transfer to finish(), stamped when libcurl reported it done. */
static int reap(bench *b)
{
    CURLMsg *msg;
    int left = 0;
    double t = now_us();
    while ((msg = curl_multi_info_read(b->m, &left)) != NULL) {
        char *priv = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        curl_multi_remove_handle(b->m, msg->easy_handle);
        b->busy--;
        if (finish(b, (agent *)(void *)priv, msg->data.result, t) != 0)
            return -1;
    }
    return 0;
}

/* Turns the multi handle until nothing is in flight; probes run while associates work. */
static int drive(bench *b)
{
    struct epoll_event ev[EPOLL_BATCH];
    while (b->busy > 0 || b->thinking > 0) {
        int running = 0, n;
        double t = now_us(), wait_ms = POLL_MS;

        /* Sleepers whose time has come: associates back from thinking, probes on their pace.
         * Once the associates are done or the time is up, nobody starts again. */
        for (size_t i = 0; i < b->nassoc + b->nprobe; i++) {
            agent *p = &b->a[i];
            bool over = b->working == 0 || t >= b->deadline_us;
            if (p->wake_us <= 0 || (!over && p->wake_us > t)) {
                if (p->wake_us > 0 && (p->wake_us - t) / 1e3 < wait_ms)
                    wait_ms = (p->wake_us - t) / 1e3;
                continue;
            }
            p->wake_us = 0;
            if (!p->probe)
                b->thinking--;
            if (over)
                stop_agent(b, p);
            else if (start(b, p, p->probe ? API_HEALTHZ : API_NEXT) != 0)
                return -1;
        }
        if (b->timer_us >= 0 && (b->timer_us - t) / 1e3 < wait_ms)
            wait_ms = (b->timer_us - t) / 1e3;
        n = epoll_wait(b->ep, ev, EPOLL_BATCH, wait_ms > 0 ? (int)(wait_ms + 0.999) : 0);
        if (n < 0 && errno != EINTR)
            return -1;
        for (int i = 0; i < n; i++) {
            int flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                        (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                        (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            if (curl_multi_socket_action(b->m, ev[i].data.fd, flags, &running) != CURLM_OK ||
                reap(b) != 0)
                return -1;
        }
        if (b->timer_us >= 0 && now_us() >= b->timer_us) {
            b->timer_us = -1; /* libcurl sets it again if it wants another */
            if (curl_multi_socket_action(b->m, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK ||
                reap(b) != 0)
                return -1;
        }
    }
    return 0;
}

static int agent_init(agent *a, const char *token)
{
    char hdr[TOKEN_MAX + 32];
    int w;
    if (!(a->h = curl_easy_init()))
        return -1;
    if (token) {
        w = snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", token);
        if (w < 0 || (size_t)w >= sizeof hdr ||
            !(a->hdr = curl_slist_append(NULL, "Content-Type: application/json")) ||
            !curl_slist_append(a->hdr, hdr))
            return -1;
        curl_easy_setopt(a->h, CURLOPT_HTTPHEADER, a->hdr);
    }
    curl_easy_setopt(a->h, CURLOPT_PRIVATE, (char *)a);
    curl_easy_setopt(a->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(a->h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(a->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(a->h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(a->h, CURLOPT_TIMEOUT_MS, 30000L);
    return 0;
}

/* Reads up to want tokens, one a line, from path into toks (pointers into *buf). */
static int read_tokens(const char *path, size_t want, char **buf, char **toks, char *err,
                       size_t errsz)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0, got = 0;
    char *p;
    if (!f || !(*buf = malloc(TOKENS_MAX + 1))) {
        snprintf(err, errsz, "%s: %s", path, f ? "out of memory" : strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    n = fread(*buf, 1, TOKENS_MAX + 1, f);
    fclose(f);
    if (n > TOKENS_MAX) {
        snprintf(err, errsz, "%s: over %u bytes", path, TOKENS_MAX);
        return -1;
    }
    (*buf)[n] = '\0';
    for (p = *buf; *p && got < want;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (strlen(p) >= TOKEN_MAX) {
            snprintf(err, errsz, "%s: a token over %d bytes", path, TOKEN_MAX);
            return -1;
        }
        if (*p)
            toks[got++] = p;
        if (!nl)
            break;
        p = nl + 1;
    }
    if (got < want) {
        snprintf(err, errsz, "%s: %zu tokens, %zu associates", path, got, want);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    api_run_opts o = {.associates = 200, .seconds = 60, .probes = 4, .probe_ms = 10};
    bench b = {.ep = -1, .timer_us = -1};
    char **toks = NULL, *tokbuf = NULL, err[ERR_MAX] = "";
    api_cpu c0 = {0}, c1 = {0};
    int rc = 1;
    long v;

    if (argc >= 2 && strcmp(argv[1], "produce") == 0)
        return api_produce_main(argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        fputs("usage: modq-bench-api run --url URL --tokens FILE [--associates N] [--seconds S]\n"
              "                          [--think-ms MS] [--probes N] [--probe-ms MS]\n"
              "                          [--server-pid PID]\n"
              "       modq-bench-api produce --help\n",
              stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = val == NULL;
        if (!bad && strcmp(k, "--url") == 0)
            o.url = val;
        else if (!bad && strcmp(k, "--tokens") == 0)
            o.tokens = val;
        else if (!bad && strcmp(k, "--associates") == 0)
            bad = parse_long(val, 1, MAX_ASSOCIATES, &v) || !(o.associates = (size_t)v);
        else if (!bad && strcmp(k, "--seconds") == 0)
            bad = parse_long(val, 1, MAX_SECONDS, &v) || !(o.seconds = (double)v);
        else if (!bad && strcmp(k, "--probes") == 0)
            bad = parse_long(val, 0, MAX_PROBES, &v) || ((o.probes = (size_t)v), 0);
        else if (!bad && strcmp(k, "--think-ms") == 0)
            bad = parse_long(val, 0, 600000, &v) || ((o.think_ms = (double)v), 0);
        else if (!bad && strcmp(k, "--probe-ms") == 0)
            bad = parse_long(val, 1, 10000, &v) || !(o.probe_ms = (double)v);
        else if (!bad && strcmp(k, "--server-pid") == 0)
            bad = parse_long(val, 1, INT32_MAX, &v) || !(o.server_pid = (int)v);
        else
            bad = 1;
        if (bad) {
            fprintf(stderr, "modq-bench-api: bad or incomplete option '%s'\n", k);
            return 2;
        }
        i++;
    }
    if (!o.url || !o.tokens) {
        fputs("modq-bench-api: run needs --url and --tokens\n", stderr);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    b.base = o.url;
    b.nassoc = o.associates;
    b.nprobe = o.probes;
    b.probe_us = o.probe_ms * 1e3;
    b.think_us = o.think_ms * 1e3;
    if (!(toks = calloc(b.nassoc, sizeof *toks)) ||
        !(b.a = calloc(b.nassoc + b.nprobe, sizeof *b.a)) || !(b.m = curl_multi_init()) ||
        (b.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    if (read_tokens(o.tokens, b.nassoc, &tokbuf, toks, err, sizeof err) != 0)
        goto out;
    /* Every connection stays open between requests: one per associate and probe. */
    curl_multi_setopt(b.m, CURLMOPT_MAXCONNECTS, (long)(b.nassoc + b.nprobe + 8));
    curl_multi_setopt(b.m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(b.m, CURLMOPT_SOCKETDATA, &b);
    curl_multi_setopt(b.m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(b.m, CURLMOPT_TIMERDATA, &b);
    for (size_t i = 0; i < b.nassoc + b.nprobe; i++) {
        if (agent_init(&b.a[i], i < b.nassoc ? toks[i] : NULL) != 0) {
            snprintf(err, sizeof err, "curl handle %zu: out of memory", i);
            goto out;
        }
        b.a[i].probe = i >= b.nassoc;
        b.a[i].rng = 0x9e3779b97f4a7c15ULL * (i + 1); /* any non-zero seed, fixed per run */
    }
    /* Warm-up, not timed: one /healthz per handle opens its keep-alive connection. */
    b.working = b.nassoc;
    b.deadline_us = now_us() + 60e6;
    for (size_t i = 0; i < b.nassoc + b.nprobe; i++) {
        b.a[i].warm = true;
        if (start(&b, &b.a[i], API_HEALTHZ) != 0)
            goto out;
    }
    if (drive(&b) != 0 || b.first_err[0]) {
        snprintf(err, sizeof err, "warm-up: %.200s",
                 b.first_err[0] ? b.first_err : "libcurl failed");
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
    for (size_t i = 0; i < b.nprobe; i++) /* spread over one period, not all at once */
        b.a[b.nassoc + i].wake_us = b.start_us + b.probe_us * (double)(i + 1) / (double)b.nprobe;
    if (drive(&b) != 0) {
        snprintf(err, sizeof err, "libcurl or memory failed during the run");
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
        for (size_t i = 0; i < b.nassoc; i++)
            res.items += b.a[i].items;
        for (int r = 0; r < API_NROUTES; r++) {
            res.routes[r] = (api_route){ROUTE_NAMES[r], ROUTE_KEYS[r],  b.s[r].lat_us, b.s[r].at_ms,
                                        b.s[r].n,       b.s[r].dropped, b.s[r].errors};
        }
        rc = api_report(&res, TARGET_P99_MS, SLICES) == 0 && !b.first_err[0] && !b.denied ? 0 : 1;
    }
out:
    if (err[0])
        fprintf(stderr, "modq-bench-api: %s\n", err);
    for (size_t i = 0; b.a && i < b.nassoc + b.nprobe; i++) {
        if (b.a[i].h && b.m)
            curl_multi_remove_handle(b.m, b.a[i].h);
        curl_easy_cleanup(b.a[i].h);
        curl_slist_free_all(b.a[i].hdr);
    }
    if (b.m)
        curl_multi_cleanup(b.m);
    if (b.ep >= 0)
        close(b.ep);
    for (int r = 0; r < API_NROUTES; r++) {
        free(b.s[r].lat_us);
        free(b.s[r].at_ms);
    }
    free(b.a);
    free(toks);
    free(tokbuf);
    curl_global_cleanup();
    return rc;
}
