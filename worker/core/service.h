/*
 * service.h: the whole worker process (private to worker/): the Kafka loop (run.h) with its
 * review desk, the token verifier, the metrics registry, the review API and its two HTTP
 * listeners (the API's, and the probes' own: http.probe_listen), made together from one
 * configuration and stopped together. main.c and the demo are thin callers of it.
 *
 * Order of a stop: the loop drains (desk closed, leases handed back, pool finished, decisions
 * and events flushed, offsets committed, group left) while the HTTP server still answers (503
 * for new work), then the server stops.
 */
#ifndef MODQ_WORKER_SERVICE_H
#define MODQ_WORKER_SERVICE_H

#include "config/config.h"
#include "modq_policy.h"
#include "run.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

typedef enum modq_service_result {
    MODQ_SERVICE_OK = 0,
    MODQ_SERVICE_ERR_INVALID_ARG,
    MODQ_SERVICE_ERR_NOMEM,
    MODQ_SERVICE_ERR_SETUP, /* a part could not be made; errstr says which and why */
    MODQ_SERVICE_ERR_FATAL, /* Kafka failed fatally while running (logged) */
    MODQ_SERVICE_RESULT_COUNT
} modq_service_result;

const char *modq_service_strerror(modq_service_result r);

#define MODQ_SERVICE_STALL_MS      30000 /* /healthz fails when the loop has not turned for this */
#define MODQ_SERVICE_AUTH_AUDIT_PS 10    /* AUTH_FAILED audit events per second, at most */

typedef struct modq_service modq_service;

/* Makes every part (cfg and policy borrowed; outlive the service). run_opts may be NULL.
 * modq_blur_init must have been called. On OK *out is owned by the caller (modq_service_free). */
modq_service_result modq_service_new(const modq_config *cfg, const modq_policy *policy,
                                     const modq_run_opts *run_opts, modq_service **out,
                                     char *errstr, size_t errstr_size);
/* The HTTP port bound (http.listen may give port 0). */
int modq_service_http_port(const modq_service *s);
/* The probe listener's port bound (http.probe_listen, by default port 0). */
int modq_service_probe_port(const modq_service *s);
modq_run *modq_service_run(modq_service *s);
/* Turns the loop until *stop becomes non-zero (set by a signal handler) or Kafka fails, then
 * drains within worker.grace_seconds. Whenever *reload (may be NULL) becomes non-zero (SIGHUP),
 * clears it and reloads the bank files. OK, or ERR_FATAL. */
modq_service_result modq_service_loop(modq_service *s, volatile sig_atomic_t *stop,
                                      volatile sig_atomic_t *reload);
/* Frees s (NULL is fine); call after modq_service_loop. */
void modq_service_free(modq_service *s);

#endif
