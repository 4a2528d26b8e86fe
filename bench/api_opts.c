/*
 * api_opts.c: what `modq-bench-api run` is told: its command line and the tokens file (one JWT a
 * line, token i for associate i), each checked against the limits below before anything runs.
 */
#include "api_bench.h"
#include "bench_args.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The worker takes 1024 connections (worker/http/http.c) and this client holds one per associate
 * and probe for the whole run: beyond, the worker would turn the last ones away, and the figures
 * would be of a run that never happened. The rest is left for /metrics scrapes and the like. */
#define MAX_CONNECTIONS 5000
#define MAX_ASSOCIATES  MAX_CONNECTIONS
#define MAX_PROBES      64
#define MAX_SECONDS     3600
#define TOKENS_MAX      (8u * 1024 * 1024) /* the tokens file, whole */

static void usage(void)
{
    fputs("usage: modq-bench-api run --url URL --tokens FILE [--associates N] [--seconds S]\n"
          "                          [--think-ms MS] [--probes N] [--probe-ms MS]\n"
          "                          [--server-pid PID] [--phase NAME] [--target-ms MS]\n"
          "       modq-bench-api produce --help\n",
          stderr);
}

int api_opts_parse(int argc, char **argv, api_run_opts *o)
{
    long v;
    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        usage();
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = val == NULL;
        if (!bad && strcmp(k, "--url") == 0) {
            o->url = val;
        } else if (!bad && strcmp(k, "--tokens") == 0) {
            o->tokens = val;
        } else if (!bad && strcmp(k, "--associates") == 0) {
            bad = bench_parse_long(val, 1, MAX_ASSOCIATES, &v) || !(o->associates = (size_t)v);
        } else if (!bad && strcmp(k, "--seconds") == 0) {
            bad = bench_parse_long(val, 1, MAX_SECONDS, &v) || !(o->seconds = (double)v);
        } else if (!bad && strcmp(k, "--probes") == 0) {
            bad = bench_parse_long(val, 0, MAX_PROBES, &v) || ((o->probes = (size_t)v), 0);
        } else if (!bad && strcmp(k, "--think-ms") == 0) {
            bad = bench_parse_long(val, 0, 600000, &v) || ((o->think_ms = (double)v), 0);
        } else if (!bad && strcmp(k, "--phase") == 0) {
            bad = strlen(val) > 32 || !(o->phase = val);
        } else if (!bad && strcmp(k, "--target-ms") == 0) {
            bad = bench_parse_long(val, 0, 10000, &v) || ((o->target_ms = (double)v), 0);
        } else if (!bad && strcmp(k, "--probe-ms") == 0) {
            bad = bench_parse_long(val, 1, 10000, &v) || !(o->probe_ms = (double)v);
        } else if (!bad && strcmp(k, "--server-pid") == 0) {
            bad = bench_parse_long(val, 1, INT32_MAX, &v) || !(o->server_pid = (int)v);
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "modq-bench-api: bad or incomplete option '%s'\n", k);
            return 2;
        }
        i++;
    }
    if (!o->url || !o->tokens) {
        fputs("modq-bench-api: run needs --url and --tokens\n", stderr);
        return 2;
    }
    if (o->associates + o->probes > MAX_CONNECTIONS) {
        fprintf(stderr, "modq-bench-api: %zu associates and %zu probes: over %d connections\n",
                o->associates, o->probes, MAX_CONNECTIONS);
        return 2;
    }
    return 0;
}

int api_opts_read_tokens(const char *path, size_t want, char **buf, char **toks, char *err,
                         size_t errsz)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0, got = 0;
    char *p;
    *buf = NULL;
    if (!f || !(*buf = malloc(TOKENS_MAX + 1))) {
        snprintf(err, errsz, "%s: %s", path, f ? "out of memory" : strerror(errno));
        if (f) {
            fclose(f);
        }
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
        if (nl) {
            *nl = '\0';
        }
        if (strlen(p) >= API_TOKEN_MAX) {
            snprintf(err, errsz, "%s: a token over %d bytes", path, API_TOKEN_MAX);
            return -1;
        }
        if (*p) {
            toks[got++] = p;
        }
        if (!nl) {
            break;
        }
        p = nl + 1;
    }
    if (got < want) {
        snprintf(err, errsz, "%s: %zu tokens, %zu associates", path, got, want);
        return -1;
    }
    return 0;
}
