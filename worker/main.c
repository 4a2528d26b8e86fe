/*
 * main.c: the modq-worker program, a thin main over modq_worker_core (service.h does the work).
 *
 *   modq-worker [--config FILE] [--role all|prepare|desk] [--check-config]
 *   modq-worker --demo
 *   modq-worker token --sub ID --roles R[,R...] --secret FILE [--ttl 8h] [--team T]
 *                     [--skills S,...] [--locales L,...] [--opt-outs C,...] [--issuer I]
 *                     [--audience A]
 *
 * Loads the configuration (defaults, FILE, MODQ_* environment), the wellbeing policy it names and
 * the hash banks. --check-config prints the effective configuration as JSON (secrets redacted) on
 * stdout and exits. Otherwise it consumes tickets and serves the review API until SIGTERM or
 * SIGINT, then drains within worker.grace_seconds and leaves the consumer group; SIGHUP reloads
 * the hash banks (as a change of a bank file does). --demo does the
 * same against an in-process mock Kafka cluster fed with synthetic tickets (demo.h).
 *
 * Exit codes: 0 stopped cleanly (or the configuration is valid), 1 Kafka failed fatally while
 * running, 2 usage, configuration, policy, bank or start-up error (one line on stderr).
 */
#include "config/config.h"
#include "dev/demo.h"
#include "auth/jwt.h"
#include "modq_blur.h"
#include "modq_policy.h"
#include "core/run.h"
#include "core/service.h"
#include "auth/token.h"

#include <jansson.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MODQ_WORKER_VERSION
#define MODQ_WORKER_VERSION "unknown"
#endif

#define ERRSTR_SIZE    1024
#define EXIT_FATAL     1
#define EXIT_PROBLEM   2
#define MMAP_THRESHOLD (128 * 1024) /* glibc's default, kept fixed (tune_malloc) */

extern char **environ;

/* The mutable globals: flags the signal handler sets and the loop reads. SIGTERM/SIGINT stop;
 * SIGHUP reloads the bank files. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        reload_requested = 1;
    } else {
        stop_requested = 1;
    }
}

static void usage(FILE *f)
{
    fputs("usage: modq-worker [--config FILE] [--role all|prepare|desk] [--check-config]\n"
          "       modq-worker --demo\n"
          "       modq-worker token --sub ID --roles ROLE[,ROLE] --secret FILE [--ttl 8h]\n"
          "                         [--team T] [--skills S,..] [--locales L,..] [--opt-outs C,..]\n"
          "                         [--issuer I] [--audience A]\n"
          "       modq-worker --help | --version\n"
          "\n"
          "Consumes moderation tickets from the queue topics of the wellbeing policy, prepares\n"
          "them (media made safe, hash banks, earlier decisions), publishes automatic decisions\n"
          "and dead letters, and serves the review API and web page to associates and leads,\n"
          "until SIGTERM or SIGINT (then drains: leases handed back, offsets committed).\n"
          "SIGHUP, or a change of a bank file, reloads the hash banks without a restart.\n"
          "  --config FILE   YAML configuration (see modq-worker.example.yaml); MODQ_*\n"
          "                  environment variables override it\n"
          "  --role ROLE     all (default: one process does everything), prepare (tickets in,\n"
          "                  review items out) or desk (the review desk of a fleet); overrides\n"
          "                  worker.role and MODQ_WORKER_ROLE\n"
          "  --check-config  load the configuration, policy and banks, print the effective\n"
          "                  configuration as JSON (secrets redacted) and exit\n"
          "  --demo          run against an in-process mock Kafka cluster (3 brokers) fed with\n"
          "                  synthetic tickets; prints the bootstrap address, the review page,\n"
          "                  the probes and an associate and a lead token. MODQ_* variables still\n"
          "                  apply (e.g. MODQ_HTTP_LISTEN, MODQ_WORKER_POLICY). Never in "
          "production.\n"
          "  token           mint an HS256 review token (demos, tests) with the secret in FILE;\n"
          "                  roles: associate, lead, qa; --ttl as 90s, 30m, 8h or 2d\n"
          "  --help          this text\n"
          "  --version       the version\n",
          f);
}

/* Parsed command line. */
struct options {
    const char *config;
    const char *role; /* --role: NULL = from the configuration */
    bool check;
    bool demo;
};

/* Room for the environment with --role's setting in it. */
#define ENV_MAX 4096

/* 0 to go on, 1 when done (help/version printed), -1 on a usage error (reported). */
static int parse_args(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("modq-worker %s\n", MODQ_WORKER_VERSION);
            return 1;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            o->config = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0 && argv[i][9] != '\0') {
            o->config = argv[i] + 9;
        } else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            o->role = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0) {
            o->check = true;
        } else if (strcmp(argv[i], "--demo") == 0) {
            o->demo = true;
        } else {
            fprintf(stderr, "modq-worker: unknown or incomplete option '%s' (see --help)\n",
                    argv[i]);
            return -1;
        }
    }
    if (o->demo && (o->check || o->config != NULL || o->role != NULL)) {
        fprintf(stderr, "modq-worker: --demo makes its own configuration (MODQ_* still apply)\n");
        return -1;
    }
    return 0;
}

/*
 * The environment the configuration is loaded from: environ, with --role (when given) as
 * MODQ_WORKER_ROLE in place of any there, so that the option wins over the environment as the
 * environment wins over the file. env has ENV_MAX slots; the setting is written to setting.
 */
static const char *const *environment(const struct options *o, const char **env, char *setting,
                                      size_t size)
{
    size_t n = 0;

    if (o->role == NULL) {
        return (const char *const *)environ;
    }
    for (char **e = environ; *e != NULL && n + 2 < ENV_MAX; e++) {
        if (strncmp(*e, "MODQ_WORKER_ROLE=", 17) != 0) {
            env[n++] = *e;
        }
    }
    snprintf(setting, size, "MODQ_WORKER_ROLE=%s", o->role);
    env[n++] = setting;
    env[n] = NULL;
    return env;
}

/* Loads the configuration and the policy; on failure reports one line and returns -1. */
static int load(const struct options *o, modq_config **cfg, modq_policy **policy)
{
    static const char *env[ENV_MAX];
    char err[ERRSTR_SIZE] = "", setting[128];
    modq_config_result cr = modq_config_load(
        o->config, environment(o, env, setting, sizeof setting), cfg, err, sizeof err);
    modq_policy_result pr;

    if (cr != MODQ_CONFIG_OK) {
        fprintf(stderr, "modq-worker: %s\n", err[0] ? err : modq_config_strerror(cr));
        return -1;
    }
    pr = modq_policy_load_file(modq_config_worker_policy(*cfg), policy, err, sizeof err);
    if (pr != MODQ_POLICY_OK) {
        fprintf(stderr, "modq-worker: policy: %s\n", err[0] ? err : modq_policy_strerror(pr));
        return -1;
    }
    return 0;
}

/* --check-config: banks too, then the redacted configuration on stdout. */
static int check_config(const modq_config *cfg)
{
    char err[ERRSTR_SIZE] = "";
    modq_banks *banks = NULL;
    json_t *js = NULL;
    int rc = EXIT_PROBLEM;
    modq_run_result rr = modq_run_load_banks(cfg, &banks, err, sizeof err);

    if (rr != MODQ_RUN_OK) {
        fprintf(stderr, "modq-worker: bank: %s\n", err[0] ? err : modq_run_strerror(rr));
        goto out;
    }
    if (modq_config_to_json(cfg, &js) != MODQ_CONFIG_OK ||
        json_dumpf(js, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) != 0 ||
        fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "modq-worker: cannot print the configuration\n");
        goto out;
    }
    rc = 0;
out:
    json_decref(js);
    modq_banks_free(banks);
    return rc;
}

static int install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGHUP, &sa, NULL) != 0) {
        fprintf(stderr, "modq-worker: cannot install signal handlers\n");
        return -1;
    }
    return 0;
}

/* "http://HOST:PORT" into buf, with a wildcard host as the loopback address to open. */
static void demo_url(char *buf, size_t size, const char *host, int port)
{
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) {
        host = "127.0.0.1";
    }
    snprintf(buf, size, "http://%s%s%s:%d", strchr(host, ':') ? "[" : "", host,
             strchr(host, ':') ? "]" : "", port);
}

/* The demo's lines on stdout, flushed: tests and people read them. */
static int print_demo(modq_demo *demo, const modq_policy *policy, const modq_service *s)
{
    char *assoc = modq_demo_token(demo, "associate"), *lead = modq_demo_token(demo, "lead");
    const modq_config *cfg = modq_demo_config(demo);
    char page[320], probes[320];
    int rc = -1;

    if (assoc == NULL || lead == NULL) {
        fprintf(stderr, "modq-worker: demo tokens could not be made\n");
        goto out;
    }
    demo_url(page, sizeof page, modq_config_http_host(cfg), modq_service_http_port(s));
    demo_url(probes, sizeof probes, modq_config_http_probe_host(cfg), modq_service_probe_port(s));
    printf("modq demo: kafka bootstrap %s\n", modq_demo_bootstrap(demo));
    printf("modq demo: policy %s (%s)\n", modq_config_worker_policy(cfg),
           modq_policy_version(policy));
    printf("modq demo: review page %s/\n", page);
    printf("modq demo: probes %s/healthz, /readyz and /metrics\n", probes);
    printf("modq demo: associate token %s\n", assoc);
    printf("modq demo: lead token %s\n", lead);
    printf("modq demo: token secret %s (more tokens: modq-worker token --secret FILE "
           "--issuer modq-demo --audience modq --sub ID --roles associate,qa)\n",
           modq_demo_secret_file(demo));
    printf("modq demo: try  kcat -b %s -L   and open the page with a token; Ctrl-C stops\n",
           modq_demo_bootstrap(demo));
    rc = fflush(stdout) == 0 ? 0 : -1;
out:
    free(assoc);
    free(lead);
    return rc;
}

/* The run mode: until a signal, then drain. demo (may be NULL) prints its lines once serving. */
static int run(const modq_config *cfg, const modq_policy *policy, const char *argv0,
               modq_demo *demo)
{
    char err[ERRSTR_SIZE] = "";
    modq_service *s = NULL;
    modq_service_result sr;
    int rc = EXIT_PROBLEM;

    (void)argv0;
    if (install_signals() != 0) {
        goto out;
    }
    sr = modq_service_new(cfg, policy, NULL, &s, err, sizeof err);
    if (sr != MODQ_SERVICE_OK) {
        fprintf(stderr, "modq-worker: %s\n", err[0] ? err : modq_service_strerror(sr));
        goto out;
    }
    if (demo != NULL && print_demo(demo, policy, s) != 0) {
        goto out;
    }
    rc = modq_service_loop(s, &stop_requested, &reload_requested) == MODQ_SERVICE_OK ? 0
                                                                                     : EXIT_FATAL;
out:
    modq_service_free(s);
    return rc;
}

/* --demo: the demo's configuration, policy and tickets, then the run mode. */
static int demo_main(const char *argv0)
{
    char err[ERRSTR_SIZE] = "";
    modq_demo *demo = NULL;
    modq_policy *policy = NULL;
    modq_policy_result pr;
    int rc = EXIT_PROBLEM;

    if (modq_blur_init(argv0) != MODQ_BLUR_OK) { /* the demo draws its images first */
        fprintf(stderr, "modq-worker: the image library could not be started\n");
        return EXIT_PROBLEM;
    }
    if (modq_demo_new((const char *const *)environ, &demo, err, sizeof err) != MODQ_DEMO_OK) {
        fprintf(stderr, "modq-worker: %s\n", err);
        goto out;
    }
    pr = modq_policy_load_file(modq_config_worker_policy(modq_demo_config(demo)), &policy, err,
                               sizeof err);
    if (pr != MODQ_POLICY_OK) {
        fprintf(stderr, "modq-worker: policy: %s\n", err[0] ? err : modq_policy_strerror(pr));
        goto out;
    }
    if (modq_demo_start(demo, policy, err, sizeof err) != MODQ_DEMO_OK) {
        fprintf(stderr, "modq-worker: %s\n", err);
        goto out;
    }
    rc = run(modq_demo_config(demo), policy, argv0, demo);
out:
    modq_demo_free(demo); /* stops the producer before the policy it reads goes */
    modq_policy_free(policy);
    modq_blur_shutdown();
    return rc;
}

/*
 * glibc raises its mmap threshold to the size of each large block freed (up to 32 MB) and its
 * trim threshold to twice that, so after the first large answer or Kafka message is freed, large
 * blocks come from the threads' arenas and the tops of those arenas are never handed back. Over
 * hours the arenas' resident pages crept up (scripts/soak: +1.12 MB/h of anonymous memory in the
 * first hour of a two-hour run; +0.73 MB/h over an hour with these fixed, the heap in use +0.3).
 * Fixed thresholds keep blocks over 128 KiB in their own mappings, returned on free.
 */
static void tune_malloc(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, MMAP_THRESHOLD);
#endif
}

int main(int argc, char **argv)
{
    struct options o = {0};
    modq_config *cfg = NULL;
    modq_policy *policy = NULL;
    int rc;

    tune_malloc();
    if (argc > 1 && strcmp(argv[1], "token") == 0) {
        return modq_token_main(argc - 1, argv + 1);
    }
    rc = parse_args(argc, argv, &o);
    if (rc != 0) {
        return rc > 0 ? 0 : EXIT_PROBLEM;
    }
    if (o.demo) {
        return demo_main(argv[0]);
    }
    rc = EXIT_PROBLEM;
    if (load(&o, &cfg, &policy) != 0) {
        goto out;
    }
    if (o.check) {
        rc = check_config(cfg);
    } else if (modq_blur_init(argv[0]) != MODQ_BLUR_OK) {
        fprintf(stderr, "modq-worker: the image library could not be started\n");
    } else {
        rc = run(cfg, policy, argv[0], NULL);
        modq_blur_shutdown();
    }
out:
    modq_policy_free(policy);
    modq_config_free(cfg);
    return rc;
}
