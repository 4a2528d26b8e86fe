/*
 * demo.h: `modq-worker --demo` (private to worker/): everything the worker needs on one machine
 * with nothing installed but the worker. librdkafka's mock cluster in-process (3 brokers), the
 * topics made, a demo hash bank, an HS256 secret, a configuration pointing at them, and a thread
 * publishing synthetic tickets (shapes and noise made here: never real content) to the policy's
 * queue topics: some match the demo bank (decided without a person), a few are malformed (dead
 * letters), the rest wait for review.
 *
 * Files (secret, bank) live in a private temporary directory removed by modq_demo_free.
 */
#ifndef MODQ_WORKER_DEMO_H
#define MODQ_WORKER_DEMO_H

#include "config/config.h"
#include "modq_policy.h"

#include <stddef.h>

typedef enum modq_demo_result {
    MODQ_DEMO_OK = 0,
    MODQ_DEMO_ERR_INVALID_ARG,
    MODQ_DEMO_ERR_NOMEM,
    MODQ_DEMO_ERR_SETUP, /* errstr says which part */
    MODQ_DEMO_RESULT_COUNT
} modq_demo_result;

const char *modq_demo_strerror(modq_demo_result r);

#define MODQ_DEMO_BURST       24   /* tickets published at once, so the page has work */
#define MODQ_DEMO_PERIOD_MS   2000 /* then one ticket this often */
#define MODQ_DEMO_MAX_TICKETS 5000 /* and no more */
#define MODQ_DEMO_TOKEN_TTL_S (8 * 3600)

typedef struct modq_demo modq_demo;

/*
 * Starts the cluster and writes the files, then loads the demo configuration: the demo's own
 * settings (bootstrap, secret, bank, worker.demo) with envp's MODQ_* variables applied on top
 * (e.g. MODQ_HTTP_LISTEN, MODQ_WORKER_POLICY). On OK *out is owned by the caller (modq_demo_free).
 */
modq_demo_result modq_demo_new(const char *const *envp, modq_demo **out, char *errstr,
                               size_t errstr_size);
/* The configuration (owned by the demo). */
const modq_config *modq_demo_config(const modq_demo *d);
const char *modq_demo_bootstrap(const modq_demo *d);
/* Creates the policy's queue topics and starts publishing tickets for its queues (policy
 * borrowed; outlives the demo's producer, stopped by modq_demo_free). */
modq_demo_result modq_demo_start(modq_demo *d, const modq_policy *policy, char *errstr,
                                 size_t errstr_size);
/* The file holding the demo's HS256 secret (owned by the demo), so that `modq-worker token
 * --secret FILE --issuer modq-demo --audience modq` mints more demo tokens. */
const char *modq_demo_secret_file(const modq_demo *d);
/* A token for role ("associate" or "lead"), malloc'd, caller frees; NULL on failure. */
char *modq_demo_token(const modq_demo *d, const char *role);
/* Stops the producer, the cluster, removes the files, frees (NULL is fine). */
void modq_demo_free(modq_demo *d);

#endif
