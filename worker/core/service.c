/*
 * service.c: the worker process as one object (service.h): the loop, the token verifier, the
 * metrics, the review API and its two HTTP listeners, wired from the configuration.
 */
#include "modq_common.h"
#include "service.h"

#include "api/api.h"
#include "kafka/consume.h"
#include "desk/desk.h"
#include "http/http.h"
#include "auth/jwt.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "proto/modq.pb-c.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define STEP_MS     100 /* longest wait of one loop turn: how fast a stop is noticed */
#define ERRSTR_SIZE 512

/* The probe listener's budget: the kubelet's two probes and a scraper, with room to spare;
 * per address, enough for the kubelet (one node address) to probe while a probe hangs. */
#define PROBE_THREADS     1
#define PROBE_CONNECTIONS 64
#define PROBE_PER_IP      8

struct modq_service {
    const modq_config *cfg;
    const modq_policy *policy;
    modq_metrics *metrics;
    modq_jwt_keys *keys;
    modq_run *run;
    modq_api *api;
    modq_http *http;
    modq_http *probe; /* /healthz, /readyz, /metrics on their own listener */
    modq_log *log;
    pthread_mutex_t auth_lock; /* the AUTH_FAILED audit budget */
    int64_t auth_second;
    int auth_in_second;
};

const char *modq_service_strerror(modq_service_result r)
{
    switch (r) {
    case MODQ_SERVICE_OK:
        return "success";
    case MODQ_SERVICE_ERR_INVALID_ARG:
        return "invalid argument";
    case MODQ_SERVICE_ERR_NOMEM:
        return "out of memory";
    case MODQ_SERVICE_ERR_SETUP:
        return "a part of the worker could not be set up";
    case MODQ_SERVICE_ERR_FATAL:
        return "Kafka client failed fatally";
    case MODQ_SERVICE_RESULT_COUNT:
        break;
    }
    return "unknown result";
}

/* ---- Metrics -------------------------------------------------------------------------------- */

typedef struct family {
    const char *name;
    modq_metrics_type type;
    const char *label;
    const char *help;
} family;

/* The families refreshed from the loop's and the desk's figures at each scrape. */
static const family families[] = {
    {"modq_tickets_received_total", MODQ_METRICS_COUNTER, NULL,
     "Ticket messages taken from the queue topics."},
    {"modq_tickets_total", MODQ_METRICS_COUNTER, "outcome",
     "Tickets by outcome of preparation: review, auto_decided, duplicate, dead_letter."},
    {"modq_publish_failures_total", MODQ_METRICS_COUNTER, NULL,
     "Outbound messages Kafka did not confirm (tickets left uncompleted, events given up)."},
    {"modq_publish_retries_total", MODQ_METRICS_COUNTER, NULL,
     "Decisions and events published again after no confirmation."},
    {"modq_decided_evicted_total", MODQ_METRICS_COUNTER, NULL,
     "Decided-set entries evicted because the set was full."},
    {"modq_bank_reloads_total", MODQ_METRICS_COUNTER, "result",
     "Reloads of the hash banks (SIGHUP or a changed file): ok, or failed (the banks in use "
     "stayed)."},
    {"modq_bank_hashes", MODQ_METRICS_GAUGE, NULL, "Hashes in the hash banks in use."},
    {"modq_views_saved_total", MODQ_METRICS_COUNTER, "source",
     "Tickets decided without anyone seeing them: by a hash bank, by an earlier decision on the "
     "same or a near-identical media, or with a person's review of a copy waiting beside them."},
    {"modq_bank_matches_total", MODQ_METRICS_COUNTER, "bank",
     "Tickets decided by a hash bank, by bank."},
    {"modq_bank_matches_by_hash_total", MODQ_METRICS_COUNTER, "hash",
     "Tickets decided by a hash bank, by the hash that matched (sha256, md5, pdq)."},
    {"modq_prior_matches_by_hash_total", MODQ_METRICS_COUNTER, "hash",
     "Tickets decided by an earlier decision, by the hash that matched (sha256: the same bytes; "
     "pdq: a near copy)."},
    {"modq_decisions_total", MODQ_METRICS_COUNTER, "verdict", "Decisions made by people."},
    {"modq_reveals_total", MODQ_METRICS_COUNTER, "level", "Clearer views served, by level."},
    {"modq_policy_denials_total", MODQ_METRICS_COUNTER, "reason",
     "Items or reveals refused by the wellbeing policy, by reason."},
    {"modq_leases_expired_total", MODQ_METRICS_COUNTER, NULL,
     "Leases that ran out and handed their item back."},
    {"modq_queue_waiting_items", MODQ_METRICS_GAUGE, "queue", "Prepared items waiting, by queue."},
    {"modq_queue_oldest_age_seconds", MODQ_METRICS_GAUGE, "queue",
     "Age of the oldest ticket waiting for a person, by queue (from its created_at_ms; 0 when "
     "none waits)."},
    {"modq_leased_items", MODQ_METRICS_GAUGE, NULL, "Items leased to a person now."},
    {"modq_escalated_items", MODQ_METRICS_GAUGE, NULL, "Items waiting in the escalation queue."},
    {"modq_qa_items", MODQ_METRICS_GAUGE, NULL, "Decided items kept for a blind second review."},
    {"modq_unservable_items", MODQ_METRICS_GAUGE, NULL,
     "Items set aside because their answer could not be built; never handed out."},
    {"modq_consumer_lag_messages", MODQ_METRICS_GAUGE, "topic",
     "Ticket messages not yet completed, by queue topic (assigned partitions)."},
    {"modq_associates", MODQ_METRICS_GAUGE, NULL, "Associates known to this worker."},
    {"modq_associates_near_cap", MODQ_METRICS_GAUGE, NULL,
     "Associates at or over a cap's warning threshold."},
    {"modq_associates_on_break", MODQ_METRICS_GAUGE, NULL, "Associates on a break now."},
    {"modq_heap_inuse_bytes", MODQ_METRICS_GAUGE, NULL,
     "Bytes of heap the worker holds (glibc mallinfo2); its RSS adds libraries, stacks and free "
     "arena pages."},
    {"modq_poll_loop_stalled_seconds", MODQ_METRICS_GAUGE, NULL,
     "Seconds since the Kafka poll loop last turned."},
    {"modq_ready", MODQ_METRICS_GAUGE, NULL, "1 when ready for people (partitions assigned)."},
    {"modq_desk_mandate_seconds", MODQ_METRICS_GAUGE, NULL,
     "Role desk: how long this desk may still serve on Kafka's last confirmation (0 when not "
     "confirmed; an active desk renews it about every second)."},
    {"modq_review_paused", MODQ_METRICS_GAUGE, NULL,
     "1 while no new items are handed out because Kafka confirms nothing."},
};

static const char *const verdict_names[] = {"unspecified", "no_violation", "remove", "restrict",
                                            "remove_and_report"};

static modq_service_result declare_metrics(modq_service *s, char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        const family *f = &families[i];
        modq_metrics_result mr =
            modq_metrics_declare(s->metrics, f->name, f->type, f->help, f->label, NULL, 0);
        if (mr != MODQ_METRICS_OK) {
            snprintf(errstr, errstr_size, "metrics: %s: %s", f->name, modq_metrics_strerror(mr));
            return MODQ_SERVICE_ERR_SETUP;
        }
    }
    return MODQ_SERVICE_OK;
}

/* What the allocator holds for the worker: a leak grows it, where RSS also grows with pages of
 * libraries touched for the first time and with arena free space (glibc 2.33's mallinfo2; none
 * reported elsewhere). */
static void set_heap_inuse(modq_metrics *m)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    modq_metrics_set(m, "modq_heap_inuse_bytes", NULL, (double)(mi.uordblks + mi.hblkhd));
#else
    (void)m;
#endif
}

static void refresh_metrics(void *arg)
{
    modq_service *s = arg;
    modq_metrics *m = s->metrics;
    modq_run_counters rc;
    modq_desk_counts dc;
    modq_desk *desk = modq_run_desk(s->run);
    char label[32];
    size_t ntopics;
    const char *const *topics = modq_run_topics(s->run, &ntopics);

    modq_run_counts(s->run, &rc);
    modq_desk_get_counts(desk, &dc);
    modq_metrics_set_counter(m, "modq_tickets_received_total", NULL, rc.received);
    modq_metrics_set_counter(m, "modq_tickets_total", "review", rc.review);
    modq_metrics_set_counter(m, "modq_tickets_total", "auto_decided", rc.auto_decided);
    modq_metrics_set_counter(m, "modq_tickets_total", "duplicate", rc.duplicate);
    modq_metrics_set_counter(m, "modq_tickets_total", "dead_letter", rc.dead_letter);
    modq_metrics_set_counter(m, "modq_publish_failures_total", NULL,
                             rc.publish_failed + rc.event_failed);
    modq_metrics_set_counter(m, "modq_publish_retries_total", NULL, rc.retried);
    modq_metrics_set_counter(m, "modq_decided_evicted_total", NULL, rc.decided_evicted);
    modq_metrics_set_counter(m, "modq_bank_reloads_total", "ok", rc.banks_reloaded);
    modq_metrics_set_counter(m, "modq_bank_reloads_total", "failed", rc.banks_failed);
    modq_metrics_set(m, "modq_bank_hashes", NULL, (double)rc.bank_hashes);
    for (size_t v = 1; v < sizeof verdict_names / sizeof verdict_names[0]; v++) {
        modq_metrics_set_counter(m, "modq_decisions_total", verdict_names[v], dc.decisions[v]);
    }
    for (int l = 0; l < MODQ_POLICY_LEVELS; l++) {
        snprintf(label, sizeof label, "%d", l);
        modq_metrics_set_counter(m, "modq_reveals_total", label, dc.reveals[l]);
    }
    for (int why = 1; why < MODQ_REASON_COUNT; why++) {
        if (dc.denials[why] > 0) {
            modq_metrics_set_counter(m, "modq_policy_denials_total",
                                     modq_policy_reason_name((modq_policy_reason)why),
                                     dc.denials[why]);
        }
    }
    modq_metrics_set_counter(m, "modq_leases_expired_total", NULL, dc.leases_expired);
    modq_metrics_set_counter(m, "modq_views_saved_total", "same_review", dc.copies_decided);
    for (size_t q = 0; q < modq_policy_queue_count(s->policy); q++) {
        int64_t oldest = modq_desk_oldest_waiting_ms(desk, q), now = modq_clock_wall_ms();
        modq_metrics_set(m, "modq_queue_waiting_items", modq_policy_queue_name(s->policy, q),
                         (double)modq_desk_waiting(desk, q));
        modq_metrics_set(m, "modq_queue_oldest_age_seconds", modq_policy_queue_name(s->policy, q),
                         oldest < 0 || oldest > now ? 0.0 : (double)(now - oldest) / 1000.0);
    }
    modq_metrics_set(m, "modq_leased_items", NULL, (double)dc.leased);
    modq_metrics_set(m, "modq_escalated_items", NULL, (double)dc.escalations);
    modq_metrics_set(m, "modq_qa_items", NULL, (double)dc.qa);
    modq_metrics_set(m, "modq_unservable_items", NULL, (double)dc.unservable);
    for (size_t t = 0; t < ntopics; t++) {
        int64_t lag = modq_consume_lag(modq_run_consumer(s->run), t);
        if (lag >= 0) {
            modq_metrics_set(m, "modq_consumer_lag_messages", topics[t], (double)lag);
        }
    }
    modq_metrics_set(m, "modq_associates", NULL, (double)dc.associates);
    modq_metrics_set(m, "modq_associates_near_cap", NULL, (double)dc.near_cap);
    modq_metrics_set(m, "modq_associates_on_break", NULL, (double)dc.on_break);
    modq_metrics_set(m, "modq_poll_loop_stalled_seconds", NULL,
                     (double)modq_run_idle_ms(s->run) / 1000.0);
    modq_metrics_set(m, "modq_ready", NULL, modq_run_ready(s->run) ? 1.0 : 0.0);
    if (modq_run_role(s->run) == MODQ_CONFIG_ROLE_DESK) {
        modq_metrics_set(m, "modq_desk_mandate_seconds", NULL,
                         (double)modq_run_mandate_left_ms(s->run) / 1000.0);
    }
    set_heap_inuse(m);
    modq_metrics_set(m, "modq_review_paused", NULL, modq_run_paused(s->run) ? 1.0 : 0.0);
}

/* ---- API callbacks -------------------------------------------------------------------------- */

static bool healthy(void *arg)
{
    modq_service *s = arg;
    return modq_run_idle_ms(s->run) < MODQ_SERVICE_STALL_MS;
}

/* A fleet's pods that do not serve people say so, and where people are served instead. */
static const char *not_serving(void *arg, const char **message)
{
    modq_service *s = arg;

    switch (modq_run_role(s->run)) {
    case MODQ_CONFIG_ROLE_PREPARE:
        *message = "This pod prepares media; reviews are served by the desk pods.";
        return "not_a_desk";
    case MODQ_CONFIG_ROLE_DESK:
        if (modq_run_ready(s->run)) {
            return NULL;
        }
        if (modq_run_holds_review(s->run)) {
            *message = "This desk cannot confirm with Kafka that it is still the active desk, so "
                       "it serves no one now. Please try again in a moment.";
            return "unconfirmed";
        }
        *message = "This desk is on standby; the active desk serves reviews. Please try again.";
        return "standby";
    case MODQ_CONFIG_ROLE_ALL:
        break;
    }
    return NULL;
}

static bool ready(void *arg)
{
    modq_service *s = arg;
    return modq_run_ready(s->run);
}

/* An AUTH_FAILED audit event, at most MODQ_SERVICE_AUTH_AUDIT_PS a second: a flood of bad
 * tokens must not flood the audit topic (the metric still counts every one). */
static void on_auth_failed(void *arg, const char *reason, int64_t now_ms)
{
    modq_service *s = arg;
    Modq__V1__AuditEvent ev;
    uint8_t id[16];
    char id_hex[33];
    uint8_t *buf = NULL;
    size_t len;
    bool allowed;

    pthread_mutex_lock(&s->auth_lock);
    if (now_ms / 1000 != s->auth_second) {
        s->auth_second = now_ms / 1000;
        s->auth_in_second = 0;
    }
    allowed = s->auth_in_second++ < MODQ_SERVICE_AUTH_AUDIT_PS;
    pthread_mutex_unlock(&s->auth_lock);
    if (!allowed || RAND_bytes(id, sizeof id) != 1) {
        return;
    }
    for (size_t i = 0; i < sizeof id; i++) {
        snprintf(id_hex + 2 * i, 3, "%02x", id[i]);
    }
    modq__v1__audit_event__init(&ev);
    ev.event_id = id_hex;
    ev.at_ms = now_ms;
    ev.actor = MODQ_UNCONST("unauthenticated");
    ev.action = MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_AUTH_FAILED;
    ev.reason = MODQ_UNCONST(reason);
    ev.worker_id = MODQ_UNCONST(modq_config_worker_id(s->cfg));
    len = modq__v1__audit_event__get_packed_size(&ev);
    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        return;
    }
    modq__v1__audit_event__pack(&ev, buf);
    modq_run_publish_audit(s->run, "unauthenticated", buf, len);
    free(buf);
}

/* ---- Making and running --------------------------------------------------------------------- */

static modq_service_result make_keys(modq_service *s, char *errstr, size_t errstr_size)
{
    char err[ERRSTR_SIZE] = "";
    size_t slen = 0;
    const unsigned char *secret = modq_config_jwt_hs256_secret(s->cfg, &slen);
    unsigned algs = modq_config_jwt_algorithms(s->cfg), bits = 0;
    modq_jwt_key_opts ko;

    if (!modq_config_jwt_configured(s->cfg)) {
        snprintf(errstr, errstr_size,
                 "jwt: no key material (jwt.hs256_secret_file, jwt.public_key_file or "
                 "jwt.jwks_file): the review API cannot authenticate anyone");
        return MODQ_SERVICE_ERR_SETUP;
    }
    bits |= (algs & MODQ_CONFIG_JWT_HS256) ? MODQ_JWT_HS256 : 0;
    bits |= (algs & MODQ_CONFIG_JWT_RS256) ? MODQ_JWT_RS256 : 0;
    bits |= (algs & MODQ_CONFIG_JWT_ES256) ? MODQ_JWT_ES256 : 0;
    ko = (modq_jwt_key_opts){
        .algorithms = bits,
        .secret = secret,
        .secret_len = slen,
        .public_key_file = modq_config_jwt_public_key_file(s->cfg),
        .jwks_file = modq_config_jwt_jwks_file(s->cfg),
        .issuer = modq_config_jwt_issuer(s->cfg),
        .audience = modq_config_jwt_audience(s->cfg),
        .leeway_s = -1,
    };
    if (modq_jwt_keys_new(&ko, &s->keys, err, sizeof err) != MODQ_JWT_OK) {
        snprintf(errstr, errstr_size, "jwt: %s", err);
        return MODQ_SERVICE_ERR_SETUP;
    }
    return MODQ_SERVICE_OK;
}

/* One listener: its server in *out, logged as msg once listening. */
static modq_service_result listen_one(modq_service *s, const modq_http_opts *ho, const char *listen,
                                      const char *msg, modq_http **out, char *errstr,
                                      size_t errstr_size)
{
    char err[ERRSTR_SIZE] = "";
    char port[16];
    modq_http_result hr = modq_http_new(ho, out, err, sizeof err);

    if (hr != MODQ_HTTP_OK) {
        snprintf(errstr, errstr_size, "http %s: %s", listen, err);
        return hr == MODQ_HTTP_ERR_NOMEM ? MODQ_SERVICE_ERR_NOMEM : MODQ_SERVICE_ERR_SETUP;
    }
    snprintf(port, sizeof port, "%d", modq_http_port(*out));
    modq_log_write(s->log, MODQ_LOG_INFO, msg, "host", ho->host, "port", port, NULL);
    return MODQ_SERVICE_OK;
}

/* The review API's listener and the probes' own, which API clients cannot starve: its
 * connections are not counted against the API's, and it serves nothing else. */
static modq_service_result start_http(modq_service *s, char *errstr, size_t errstr_size)
{
    const modq_config *cfg = s->cfg;
    unsigned timeout_ms = (unsigned)modq_config_http_request_timeout_seconds(cfg) * 1000u;
    modq_http_opts api = {
        .host = modq_config_http_host(cfg),
        .port = modq_config_http_port(cfg),
        .static_dir = modq_config_http_static_dir(cfg),
        .handler = modq_api_handle,
        .handler_arg = s->api,
        .threads = (unsigned)modq_config_http_threads(cfg),
        .max_connections = (unsigned)modq_config_http_max_connections(cfg),
        .per_ip_connections = (unsigned)modq_config_http_per_ip_connections(cfg),
        .request_timeout_ms = timeout_ms,
        .metrics = s->metrics,
    };
    modq_http_opts probe = {
        .host = modq_config_http_probe_host(cfg),
        .port = modq_config_http_probe_port(cfg),
        .handler = modq_api_handle_probe,
        .handler_arg = s->api,
        .threads = PROBE_THREADS,
        .max_connections = PROBE_CONNECTIONS,
        .per_ip_connections = PROBE_PER_IP,
        .request_timeout_ms = timeout_ms,
        .metrics = s->metrics,
    };
    modq_service_result rc = listen_one(s, &probe, modq_config_http_probe_listen(cfg),
                                        "probes listening", &s->probe, errstr, errstr_size);

    if (rc == MODQ_SERVICE_OK) {
        rc = listen_one(s, &api, modq_config_http_listen(cfg), "review API listening", &s->http,
                        errstr, errstr_size);
    }
    return rc;
}

modq_service_result modq_service_new(const modq_config *cfg, const modq_policy *policy,
                                     const modq_run_opts *run_opts, modq_service **out,
                                     char *errstr, size_t errstr_size)
{
    modq_service_result rc = MODQ_SERVICE_ERR_SETUP;
    modq_service *s = NULL;
    modq_run_opts ro = {0};
    modq_run_result rr;
    int lock_rc;

    if (out != NULL) {
        *out = NULL;
    }
    if (cfg == NULL || policy == NULL || out == NULL || errstr == NULL || errstr_size == 0) {
        return MODQ_SERVICE_ERR_INVALID_ARG;
    }
    errstr[0] = '\0';
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        return MODQ_SERVICE_ERR_NOMEM;
    }
    s->cfg = cfg;
    s->policy = policy;
    /* Made first: modq_service_free destroys it whatever else was made. */
    if ((lock_rc = pthread_mutex_init(&s->auth_lock, NULL)) != 0) {
        snprintf(errstr, errstr_size, "the audit budget's lock: %s", strerror(lock_rc));
        free(s);
        return MODQ_SERVICE_ERR_SETUP;
    }
    s->metrics = modq_metrics_new();
    s->log = modq_log_new(run_opts && run_opts->log_out ? run_opts->log_out : stderr,
                          modq_config_log_level(cfg), modq_config_worker_id(cfg));
    if (s->metrics == NULL || s->log == NULL) {
        rc = MODQ_SERVICE_ERR_NOMEM;
        goto out;
    }
    if ((rc = declare_metrics(s, errstr, errstr_size)) != MODQ_SERVICE_OK ||
        (rc = make_keys(s, errstr, errstr_size)) != MODQ_SERVICE_OK) {
        goto out;
    }
    rc = MODQ_SERVICE_ERR_SETUP;
    if (run_opts != NULL) {
        ro = *run_opts;
    }
    ro.metrics = s->metrics;
    rr = modq_run_new(cfg, policy, &ro, &s->run, errstr, errstr_size);
    if (rr != MODQ_RUN_OK) {
        rc = rr == MODQ_RUN_ERR_NOMEM ? MODQ_SERVICE_ERR_NOMEM : MODQ_SERVICE_ERR_SETUP;
        goto out;
    }
    modq_api_opts ao = {
        .desk = modq_run_desk(s->run),
        .keys = s->keys,
        .metrics = s->metrics,
        .log = s->log,
        .healthy = healthy,
        .ready = ready,
        .not_serving = not_serving,
        .refresh_metrics = refresh_metrics,
        .on_auth_failed = on_auth_failed,
        .arg = s,
    };
    if (modq_api_new(&ao, &s->api) != MODQ_API_OK) {
        snprintf(errstr, errstr_size, "review API: out of memory");
        rc = MODQ_SERVICE_ERR_NOMEM;
        goto out;
    }
    if ((rc = start_http(s, errstr, errstr_size)) != MODQ_SERVICE_OK) {
        goto out;
    }
    *out = s;
    s = NULL;
    rc = MODQ_SERVICE_OK;
out:
    if (s != NULL && s->run != NULL) {
        modq_run_drain(s->run, 0); /* a consumer that joined leaves the group at once */
    }
    modq_service_free(s);
    return rc;
}

int modq_service_http_port(const modq_service *s)
{
    return s && s->http ? modq_http_port(s->http) : -1;
}

int modq_service_probe_port(const modq_service *s)
{
    return s && s->probe ? modq_http_port(s->probe) : -1;
}

modq_run *modq_service_run(modq_service *s)
{
    return s ? s->run : NULL;
}

modq_service_result modq_service_loop(modq_service *s, volatile sig_atomic_t *stop,
                                      volatile sig_atomic_t *reload)
{
    modq_run_result rr = MODQ_RUN_OK;
    modq_service_result rc;

    if (s == NULL || stop == NULL) {
        return MODQ_SERVICE_ERR_INVALID_ARG;
    }
    while (!*stop && rr == MODQ_RUN_OK) {
        if (reload != NULL && *reload) {
            *reload = 0;
            modq_run_reload_banks(s->run);
        }
        rr = modq_run_step(s->run, STEP_MS);
    }
    rc = rr == MODQ_RUN_ERR_FATAL ? MODQ_SERVICE_ERR_FATAL : MODQ_SERVICE_OK;
    /* The API keeps answering during the drain: 503 for new work, leases handed back. */
    if (modq_run_drain(s->run, (int64_t)modq_config_worker_grace_seconds(s->cfg) * 1000) !=
        MODQ_RUN_OK) {
        rc = MODQ_SERVICE_ERR_FATAL;
    }
    return rc;
}

void modq_service_free(modq_service *s)
{
    if (s == NULL) {
        return;
    }
    modq_http_free(s->http); /* no handler runs after this */
    modq_http_free(s->probe);
    modq_api_free(s->api);
    modq_run_free(s->run);
    modq_jwt_keys_free(s->keys);
    modq_metrics_free(s->metrics);
    modq_log_free(s->log);
    pthread_mutex_destroy(&s->auth_lock);
    free(s);
}
