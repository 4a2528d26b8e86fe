/*
 * main.c: the modq-worker program, a thin main over modq_worker_core (run.h does the work).
 *
 *   modq-worker [--config FILE] [--check-config]
 *
 * Loads the configuration (defaults, FILE, MODQ_* environment), the wellbeing policy it names and
 * the hash banks. --check-config prints the effective configuration as JSON (secrets redacted) on
 * stdout and exits. Otherwise it consumes tickets until SIGTERM or SIGINT, then drains within
 * worker.grace_seconds and leaves the consumer group.
 *
 * Exit codes: 0 stopped cleanly (or the configuration is valid), 1 Kafka failed fatally while
 * running, 2 usage, configuration, policy, bank or start-up error (one line on stderr).
 */
#include "config.h"
#include "modq_blur.h"
#include "modq_policy.h"
#include "run.h"

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MODQ_WORKER_VERSION
#define MODQ_WORKER_VERSION "unknown"
#endif

#define ERRSTR_SIZE  1024
#define STEP_MS      100 /* longest wait of one loop turn: how fast a signal is noticed */
#define EXIT_FATAL   1
#define EXIT_PROBLEM 2

extern char **environ;

/* The one mutable global: set by SIGTERM/SIGINT, read by the loop. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fputs("usage: modq-worker [--config FILE] [--check-config]\n"
          "       modq-worker --help | --version\n"
          "\n"
          "Consumes moderation tickets from the queue topics of the wellbeing policy, prepares\n"
          "them (media made safe, hash banks, earlier decisions) and publishes automatic\n"
          "decisions and dead letters, until SIGTERM or SIGINT.\n"
          "  --config FILE   YAML configuration (see modq-worker.example.yaml); MODQ_*\n"
          "                  environment variables override it\n"
          "  --check-config  load the configuration, policy and banks, print the effective\n"
          "                  configuration as JSON (secrets redacted) and exit\n"
          "  --help          this text\n"
          "  --version       the version\n",
          f);
}

/* Parsed command line. */
struct options {
    const char *config;
    bool check;
};

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
        } else if (strcmp(argv[i], "--check-config") == 0) {
            o->check = true;
        } else {
            fprintf(stderr, "modq-worker: unknown or incomplete option '%s' (see --help)\n",
                    argv[i]);
            return -1;
        }
    }
    return 0;
}

/* Loads the configuration and the policy; on failure reports one line and returns -1. */
static int load(const struct options *o, modq_config **cfg, modq_policy **policy)
{
    char err[ERRSTR_SIZE] = "";
    modq_config_result cr = modq_config_load(o->config, environ, cfg, err, sizeof err);
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

/* The run mode: until a signal, then drain. */
static int run(const modq_config *cfg, const modq_policy *policy, const char *argv0)
{
    char err[ERRSTR_SIZE] = "";
    modq_run *r = NULL;
    modq_run_result rr;
    struct sigaction sa;
    int rc = EXIT_PROBLEM;
    bool blur = false;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) {
        fprintf(stderr, "modq-worker: cannot install signal handlers\n");
        goto out;
    }
    if (modq_blur_init(argv0) != MODQ_BLUR_OK) {
        fprintf(stderr, "modq-worker: the image library could not be started\n");
        goto out;
    }
    blur = true;
    rr = modq_run_new(cfg, policy, NULL, &r, err, sizeof err);
    if (rr != MODQ_RUN_OK) {
        fprintf(stderr, "modq-worker: %s\n", err[0] ? err : modq_run_strerror(rr));
        goto out;
    }
    rr = MODQ_RUN_OK;
    while (!stop_requested && rr == MODQ_RUN_OK)
        rr = modq_run_step(r, STEP_MS);
    rc = rr == MODQ_RUN_ERR_FATAL ? EXIT_FATAL : 0; /* the loop logged why */
    if (modq_run_drain(r, (int64_t)modq_config_worker_grace_seconds(cfg) * 1000) != MODQ_RUN_OK)
        rc = EXIT_FATAL;
out:
    modq_run_free(r);
    if (blur)
        modq_blur_shutdown();
    return rc;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    modq_config *cfg = NULL;
    modq_policy *policy = NULL;
    int rc = parse_args(argc, argv, &o);

    if (rc != 0)
        return rc > 0 ? 0 : EXIT_PROBLEM;
    rc = EXIT_PROBLEM;
    if (load(&o, &cfg, &policy) != 0)
        goto out;
    rc = o.check ? check_config(cfg) : run(cfg, policy, argv[0]);
out:
    modq_policy_free(policy);
    modq_config_free(cfg);
    return rc;
}
