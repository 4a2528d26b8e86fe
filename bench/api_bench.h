/*
 * api_bench.h: what the parts of modq-bench-api share (bench/api_bench.c drives the load,
 * api_opts.c reads its options and tokens, api_conn.c holds its connections, api_report.c
 * prints what it measured, api_produce.c puts the review tickets on Kafka).
 */
#ifndef MODQ_BENCH_API_H
#define MODQ_BENCH_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_TOKEN_MAX 4096 /* bytes of one token, NUL included */

/* The routes measured, in the order they are printed. */
enum { API_NEXT, API_MEDIA, API_DECISION, API_HEALTHZ, API_NROUTES };

typedef struct api_run_opts {
    const char *url, *tokens;
    const char *phase; /* the run's name in the report: "paced", "saturation" */
    double target_ms;  /* the /v1/next p99 target judged on this run; 0: not judged here */
    size_t associates, probes;
    double seconds, think_ms, probe_ms;
    int server_pid; /* 0: the worker's CPU time is not read */
} api_run_opts;

/* `run`'s command line (api_opts.c) into o, which holds the defaults: 0, or 2 on a usage error
 * (printed). o's strings point into argv. */
int api_opts_parse(int argc, char **argv, api_run_opts *o);
/* The first want tokens of the file at path, one a line, blank lines skipped: toks[i] point
 * into *buf, which the caller frees (also after a failure: NULL or the partly read file). -1
 * with err filled when the file cannot be read, is over 8 MiB, or holds fewer tokens. */
int api_opts_read_tokens(const char *path, size_t want, char **buf, char **toks, char *err,
                         size_t errsz);

/* CPU seconds used so far (user + system): the worker's (from /proc) and this process's. */
typedef struct api_cpu {
    bool server_ok;
    double server_s, client_s;
} api_cpu;

void api_cpu_read(int server_pid, api_cpu *c);

/* One route's answers: latency in µs and arrival in ms since the start, n of each. */
typedef struct api_route {
    const char *name, *key;
    const uint32_t *lat_us, *at_ms;
    size_t n, dropped;
    unsigned long errors;
} api_route;

typedef struct api_result {
    const api_run_opts *opts;
    double seconds; /* from the first request to the last answer */
    unsigned long items, denied;
    unsigned long long media_bytes;
    const char *first_error; /* "" when none */
    api_cpu cpu0, cpu1;
    api_route routes[API_NROUTES];
} api_result;

/* Prints the report and the JSON line on stdout; 0, or -1 when out of memory. */
int api_report(const api_result *r, int slices);

/* One keep-alive HTTP/1.1 connection to the worker, one request at a time (api_conn.c). */
typedef struct api_conn api_conn;

/* Connects (blocking) and returns a non-blocking connection the caller frees with
 * api_conn_close(); NULL with err filled when it cannot. */
api_conn *api_conn_open(const char *host, const char *port, char *err, size_t errsz);
int api_conn_fd(const api_conn *c);
/* Between requests: true when the worker has closed the connection (it closes idle ones after
 * 30 s, which a long think time reaches); api_conn_reconnect() then opens a new one (blocking,
 * on loopback), -1 when it cannot. The fd changes. */
bool api_conn_closed(const api_conn *c);
int api_conn_reconnect(api_conn *c);
/* Starts sending req[0..len) (borrowed: it must stay put until the answer is in) and forgets the
 * last answer. 1: all sent; 0: the rest goes when the socket is writable (api_conn_writable);
 * -1: the connection failed. */
int api_conn_send(api_conn *c, const char *req, size_t len);
int api_conn_writable(api_conn *c);
/* Reads what has come: 1 = the answer is complete, 0 = more to come, -1 = the connection failed
 * or the answer is not plain HTTP/1.1 with a Content-Length (or is over 16 MiB). */
int api_conn_readable(api_conn *c);
/* The complete answer's status and body (owned by c, valid until the next send). */
int api_conn_status(const api_conn *c);
const char *api_conn_body(const api_conn *c, size_t *len);
void api_conn_close(api_conn *c);

/* `modq-bench-api produce ...`: its own usage and exit status (api_produce.c). */
int api_produce_main(int argc, char **argv);

#endif
