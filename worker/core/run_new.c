/*
 * run_new.c: making and freeing the worker (run.h): its parts from the configuration and the
 * policy, and the consumer's callbacks that only report (revocations, problems, log lines).
 */
#include "run_impl.h"
#include "modq_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS            (3600 * 1000LL)
#define MSG_OVERHEAD       (1024 * 1024) /* bytes a ticket may carry beyond its media */
#define ERRSTR_SIZE        MODQ_RUN_ERRSTR_SIZE
#define FOLLOW_TIMEOUT_MS  120000
#define REVIEW_METADATA_MS 10000 /* role desk: the review topic's metadata at start */

static void on_revoked(void *arg, const char *topic, int32_t partition)
{
    modq_run *r = arg;
    /* A desk that loses the review topic is no longer the desk: the one that has it now reads
     * every undecided item again, so nothing may stay here, not even on a person's screen. */
    size_t n = r->role == MODQ_CONFIG_ROLE_DESK
                   ? modq_desk_hand_over(r->desk, topic, partition, modq_clock_wall_ms())
                   : modq_desk_drop_partition(r->desk, topic, partition);
    if (r->role == MODQ_CONFIG_ROLE_DESK) {
        /* Decisions still queued must not land once the next desk reads the topic: they fail
         * now and are dropped, not retried (run_sink.c, fence). */
        modq_publish_withdraw_queued(r->publish);
    }
    atomic_fetch_add_explicit(&r->n_review_dropped, n, memory_order_relaxed);
    if (n > 0) {
        run_log_msg(r, MODQ_LOG_INFO, "partition revoked: review items dropped", topic, partition,
                    -1, NULL);
    }
}

static void on_problem(void *arg, modq_consume_problem kind, const char *topic, int32_t partition,
                       const char *text)
{
    modq_run *r = arg;
    (void)kind;
    run_log_msg(r, MODQ_LOG_WARN, "consumer problem", topic, partition, -1, text);
}

static void on_kafka_log(void *arg, int level, const char *fac, const char *text)
{
    modq_run *r = arg;
    modq_log_level l = level <= 3 ? MODQ_LOG_ERROR : level == 4 ? MODQ_LOG_WARN : MODQ_LOG_DEBUG;
    modq_log_write(r->log, l, "librdkafka", "facility", fac, "line", text, NULL);
}

/* The distinct queue topics of the policy into r->topics. */
static int collect_topics(modq_run *r)
{
    size_t nq = modq_policy_queue_count(r->policy);
    r->topics = calloc(nq ? nq : 1, sizeof *r->topics);
    if (r->topics == NULL) {
        return -1;
    }
    for (size_t i = 0; i < nq; i++) {
        const char *t = modq_policy_queue_topic(r->policy, i);
        bool seen = false;
        for (size_t j = 0; j < r->ntopics && !seen; j++) {
            seen = strcmp(r->topics[j], t) == 0;
        }
        if (!seen) {
            r->topics[r->ntopics++] = t;
        }
    }
    return 0;
}

/* The fetcher, or NULL (and 0) when fetch.* enables neither file:// nor http(s). */
static int make_fetch(modq_run *r, char *errstr, size_t errstr_size)
{
    const modq_config *cfg = r->cfg;
    size_t nh = modq_config_fetch_allowed_host_count(cfg);
    const char *hosts[MODQ_CONFIG_MAX_HOSTS];
    const char *root = modq_config_fetch_file_root(cfg);

    if (nh > MODQ_CONFIG_MAX_HOSTS) {
        nh = MODQ_CONFIG_MAX_HOSTS;
    }
    if (nh == 0 && root[0] == '\0') {
        return 0;
    }
    for (size_t i = 0; i < nh; i++) {
        hosts[i] = modq_config_fetch_allowed_host(cfg, i);
    }
    r->fetch = modq_fetch_new(root, hosts, nh, (size_t)modq_config_fetch_max_bytes(cfg),
                              modq_config_fetch_timeout_ms(cfg), errstr, errstr_size);
    return r->fetch ? 0 : -1;
}

/* One confined media helper per preparation thread (sandbox.*), started now so that a missing
 * helper or a kernel without seccomp stops the start rather than dead-letters every item. */
static int make_sandbox(modq_run *r, char *errstr, size_t errstr_size)
{
    const modq_config *cfg = r->cfg;
    modq_sandbox_opts o = {
        .helper_path = modq_config_sandbox_helper(cfg),
        .helpers = modq_config_worker_prepare_threads(cfg),
        .memory_bytes = modq_config_sandbox_memory_bytes(cfg),
        .timeout_ms = modq_config_sandbox_timeout_ms(cfg),
        .cpu_seconds = modq_config_sandbox_cpu_seconds(cfg),
        .max_items = modq_config_sandbox_max_items(cfg),
        .stderr_fd = -1, /* a helper's words must not pass for the worker's log lines */
    };

    if (!modq_config_sandbox_enabled(cfg)) {
        return 0;
    }
    return modq_sandbox_new(&o, &r->sandbox, errstr, errstr_size) == MODQ_BLUR_OK ? 0 : -1;
}

/* The review desk: every queue's window, plus as many again for QA copies and escalations. */
static modq_run_result make_desk(modq_run *r, size_t window, char *errstr, size_t errstr_size)
{
    modq_desk_opts o = {
        .policy = r->policy,
        .sink = run_desk_sink(r),
        .worker_id = modq_config_worker_id(r->cfg),
        .lease_ms = (int64_t)modq_config_http_lease_seconds(r->cfg) * 1000,
        .qa_sample_rate = modq_config_http_qa_sample_rate(r->cfg),
        .max_items = 2 * window * r->ntopics,
        .sole_writer = r->role == MODQ_CONFIG_ROLE_DESK,
        .confirmed = r->role == MODQ_CONFIG_ROLE_DESK ? run_desk_confirmed : NULL,
        .confirmed_arg = r,
        .decide_copies = true,
        .near_distance = modq_config_decided_near_distance(r->cfg),
    };
    modq_desk_result dr = modq_desk_new(&o, &r->desk);
    if (dr != MODQ_DESK_OK) {
        snprintf(errstr, errstr_size, "review desk: %s", modq_desk_strerror(dr));
        return dr == MODQ_DESK_ERR_NOMEM ? MODQ_RUN_ERR_NOMEM : MODQ_RUN_ERR_SETUP;
    }
    if (r->metrics != NULL) {
        static const double b[] = {1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600};
        /* Declared once per registry; a second worker on the same registry finds it there. */
        static const double w[] = {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30};
        (void)modq_metrics_declare(r->metrics, "modq_exposure_seconds", MODQ_METRICS_HISTOGRAM,
                                   "Time an item stayed on a person's screen.", "queue", b,
                                   sizeof b / sizeof b[0]);
        (void)modq_metrics_declare(r->metrics, "modq_exposure_minutes", MODQ_METRICS_HISTOGRAM,
                                   "Weighted exposure of one item's time on a person's screen "
                                   "(minutes x tier weight x level weight x colour factor, as "
                                   "the daily cap counts it).",
                                   "queue", w, sizeof w / sizeof w[0]);
        (void)modq_metrics_declare(r->metrics, "modq_dead_letters_total", MODQ_METRICS_COUNTER,
                                   "Tickets sent to the dead-letter topic, by error code.", "code",
                                   NULL, 0);
    }
    return MODQ_RUN_OK;
}

/* Both followers, waited for until caught up. 0, or -1 with errstr. */
static int make_followers(modq_run *r, const modq_run_opts *opts, char *errstr, size_t errstr_size)
{
    char err[ERRSTR_SIZE] = "";
    int timeout = opts->follow_timeout_ms > 0 ? opts->follow_timeout_ms : FOLLOW_TIMEOUT_MS;
    int64_t start = modq_clock_wall_ms() - modq_config_decided_retention_hours(r->cfg) * HOUR_MS;
    modq_follow_opts fo = {
        .topic = modq_config_topics_decisions(r->cfg),
        .start_ms = start > 0 ? start : 1,
        .on_message = run_on_decision_record,
        .on_log = on_kafka_log,
        .arg = r,
        .extra = opts->consumer_extra,
        .nextra = opts->consumer_nextra,
    };
    if (modq_follow_new(r->cfg, &fo, &r->follow_decisions, err, sizeof err) != MODQ_FOLLOW_OK) {
        snprintf(errstr, errstr_size, "decisions topic: %s", err);
        return -1;
    }
    /* Dead letters as far back as decisions: a redelivered ticket is recognised either way. */
    fo.topic = modq_config_topics_dead_letter(r->cfg);
    fo.on_message = run_on_dead_letter_record;
    if (modq_follow_new(r->cfg, &fo, &r->follow_dead, err, sizeof err) != MODQ_FOLLOW_OK) {
        snprintf(errstr, errstr_size, "dead-letter topic: %s", err);
        return -1;
    }
    fo.topic = modq_config_topics_ledgers(r->cfg);
    fo.start_ms = 0;
    fo.on_message = run_on_ledger_record;
    /* A prepare pod holds no one's ledger: the desk does. */
    if (r->role != MODQ_CONFIG_ROLE_PREPARE &&
        modq_follow_new(r->cfg, &fo, &r->follow_ledgers, err, sizeof err) != MODQ_FOLLOW_OK) {
        snprintf(errstr, errstr_size, "ledgers topic: %s", err);
        return -1;
    }
    /* Nothing is consumed before the decided set is complete: no decided ticket reaches a person
     * and no dead letter is published twice. */
    if (modq_follow_wait(r->follow_decisions, timeout) != MODQ_FOLLOW_OK ||
        modq_follow_wait(r->follow_dead, timeout) != MODQ_FOLLOW_OK ||
        (r->follow_ledgers != NULL &&
         modq_follow_wait(r->follow_ledgers, timeout) != MODQ_FOLLOW_OK)) {
        snprintf(errstr, errstr_size,
                 "the decisions, dead-letter and ledgers topics were not read to their end "
                 "within %d ms",
                 timeout);
        return -1;
    }
    char nd[24], nx[24], nl[24];
    snprintf(nd, sizeof nd, "%llu", (unsigned long long)modq_follow_count(r->follow_decisions));
    snprintf(nx, sizeof nx, "%llu", (unsigned long long)modq_follow_count(r->follow_dead));
    snprintf(nl, sizeof nl, "%llu",
             (unsigned long long)(r->follow_ledgers ? modq_follow_count(r->follow_ledgers) : 0));
    modq_log_write(r->log, MODQ_LOG_INFO, "caught up", "decisions", nd, "dead_letters", nx,
                   "ledgers", nl, NULL);
    return 0;
}

/* The worker's own parts: its clock, log, media options, decided and dead-letter sets, queue
 * topics and locks. */
static modq_run_result make_state(modq_run *r, const modq_run_opts *opts, char *errstr,
                                  size_t errstr_size)
{
    const modq_config *cfg = r->cfg;
    int64_t retention_ms = modq_config_decided_retention_hours(cfg) * HOUR_MS;

    r->clock = opts->clock ? opts->clock : run_mono_ms;
    r->clock_arg = opts->clock_arg;
    r->stuck_ms = opts->stuck_ms > 0 ? opts->stuck_ms : MODQ_RUN_STUCK_MS;
    r->banks_check_ms = opts->banks_check_ms > 0 ? opts->banks_check_ms : MODQ_RUN_BANKS_CHECK_MS;
    r->waiting_since_ms = -1;
    r->log = modq_log_new(opts->log_out ? opts->log_out : stderr, modq_config_log_level(cfg),
                          modq_config_worker_id(cfg));
    r->media_opts = modq_opts_new();
    r->decided = modq_decided_new(modq_config_decided_max_entries(cfg), retention_ms);
    r->dead = modq_decided_new(modq_config_decided_max_entries(cfg), retention_ms);
    if (r->log == NULL || r->media_opts == NULL || r->decided == NULL || r->dead == NULL ||
        collect_topics(r) != 0) {
        return MODQ_RUN_ERR_NOMEM;
    }
    if (pthread_mutex_init(&r->decided_lock, NULL) != 0) {
        return MODQ_RUN_ERR_SETUP;
    }
    r->decided_lock_init = true;
    if (pthread_rwlock_init(&r->banks_lock, NULL) != 0) {
        return MODQ_RUN_ERR_SETUP;
    }
    r->banks_lock_init = true;
    if (pthread_mutex_init(&r->retry_lock, NULL) != 0) {
        return MODQ_RUN_ERR_SETUP;
    }
    r->retry_lock_init = true;
    if (pthread_mutex_init(&r->wait_lock, NULL) != 0) {
        return MODQ_RUN_ERR_SETUP;
    }
    r->wait_lock_init = true;
    r->metrics = opts->metrics;
    if (r->ntopics == 0) {
        snprintf(errstr, errstr_size, "the policy names no queue topics");
        return MODQ_RUN_ERR_SETUP;
    }
    return MODQ_RUN_OK;
}

/* What preparation needs (media options, banks, fetcher, sandbox), then the pool that prepares,
 * with room to hold what it refuses: every message the consumer may have handed out at once. */
static modq_run_result make_preparation(modq_run *r, size_t window, char *errstr,
                                        size_t errstr_size)
{
    const modq_config *cfg = r->cfg;
    char err[ERRSTR_SIZE] = "";
    modq_run_result rc;
    size_t slots;

    if (modq_config_media_apply(cfg, r->media_opts) != MODQ_CONFIG_OK ||
        modq_opts_set(r->media_opts, MODQ_OPT_DEFER_RENDER, 1) != MODQ_BLUR_OK) {
        snprintf(errstr, errstr_size, "media options refused");
        return MODQ_RUN_ERR_SETUP;
    }
    /* A desk pod decodes nothing and matches no bank: its items come prepared. */
    if (r->role != MODQ_CONFIG_ROLE_DESK) {
        if ((rc = modq_run_load_banks(cfg, &r->banks, errstr, errstr_size)) != MODQ_RUN_OK) {
            return rc;
        }
        run_banks_seen(r);
        if (make_fetch(r, err, sizeof err) != 0) {
            snprintf(errstr, errstr_size, "fetch: %s", err);
            return MODQ_RUN_ERR_SETUP;
        }
        if (make_sandbox(r, errstr, errstr_size) != 0) {
            return MODQ_RUN_ERR_SETUP;
        }
    }
    slots = window * r->ntopics;
    if (slots > MODQ_POOL_MAX_QUEUE) {
        slots = MODQ_POOL_MAX_QUEUE;
    }
    r->cap_held = slots;
    r->held = calloc(slots, sizeof *r->held);
    if (r->held == NULL) {
        return MODQ_RUN_ERR_NOMEM;
    }
    r->ctx = (modq_prepare_ctx){
        .policy = r->policy,
        .media_opts = r->media_opts,
        .fetch = r->fetch,
        .sandbox = r->sandbox,
        .banks = &r->banks,
        .banks_lock = &r->banks_lock,
        .decided = r->decided,
        .decided_lock = &r->decided_lock,
        .auto_verdicts = modq_config_decided_auto_verdicts(cfg),
        .near_distance = modq_config_decided_near_distance(cfg),
        .worker_id = modq_config_worker_id(cfg),
        .max_message_bytes = (size_t)modq_config_media_max_input_bytes(cfg) + MSG_OVERHEAD,
    };
    r->pool = modq_pool_new(modq_config_worker_prepare_threads(cfg), slots, run_pool_job, r);
    if (r->pool == NULL) {
        snprintf(errstr, errstr_size, "the preparation pool could not be started");
        return MODQ_RUN_ERR_SETUP;
    }
    return MODQ_RUN_OK;
}

/*
 * Role desk: the review topic carries every queue's items (window), and has exactly one
 * partition, whose owner in the desk group is the one active desk. With more, each desk would
 * own a share of the items and of nobody's whole day. 0, or -1 with errstr.
 */
static int check_review_topic(modq_run *r, size_t window, char *errstr, size_t errstr_size)
{
    char err[ERRSTR_SIZE] = "";
    int n = 0;

    if (modq_consume_set_window(r->consume, window) != MODQ_CONSUME_OK) {
        snprintf(errstr, errstr_size, "review window of %zu items refused", window);
        return -1;
    }
    if (modq_consume_partition_count(r->consume, r->topics[0], REVIEW_METADATA_MS, &n, err,
                                     sizeof err) != MODQ_CONSUME_OK) {
        snprintf(errstr, errstr_size, "topics.review: %s (create it with one partition)", err);
        return -1;
    }
    if (n != 1) {
        snprintf(errstr, errstr_size,
                 "topics.review '%s' has %d partitions: a desk group needs exactly one (its owner "
                 "is the active desk)",
                 r->topics[0], n);
        return -1;
    }
    return 0;
}

/* The Kafka side, in the order each needs the one before: the publisher, the desk that publishes
 * through it, the followers that fill the decided set and the desk (caught up), the consumer. */
static modq_run_result make_kafka(modq_run *r, const modq_run_opts *opts, size_t window,
                                  char *errstr, size_t errstr_size)
{
    char err[ERRSTR_SIZE] = "";
    modq_run_result rc;

    modq_publish_opts popts = {.on_delivered = run_delivered, .arg = r, .on_log = on_kafka_log};
    modq_publish_result pr = modq_publish_new(r->cfg, &popts, &r->publish, err, sizeof err);
    if (pr != MODQ_PUBLISH_OK) {
        snprintf(errstr, errstr_size, "producer: %s", err);
        return MODQ_RUN_ERR_SETUP;
    }
    if ((rc = make_desk(r, window, errstr, errstr_size)) != MODQ_RUN_OK) {
        return rc;
    }
    if (make_followers(r, opts, errstr, errstr_size) != 0) {
        return MODQ_RUN_ERR_SETUP;
    }
    modq_consume_callbacks cb = {on_revoked, on_problem, on_kafka_log, r};
    modq_consume_result cr =
        modq_consume_new(r->cfg, r->topics, r->ntopics, opts->consumer_extra, opts->consumer_nextra,
                         &cb, &r->consume, err, sizeof err);
    if (cr != MODQ_CONSUME_OK) {
        snprintf(errstr, errstr_size, "consumer: %s", err);
        return MODQ_RUN_ERR_SETUP;
    }
    if (r->role == MODQ_CONFIG_ROLE_DESK && (run_desk_check(r, errstr, errstr_size) != 0 ||
                                             check_review_topic(r, window, errstr, errstr_size))) {
        return MODQ_RUN_ERR_SETUP;
    }
    atomic_store(&r->consume_live, r->consume);
    return MODQ_RUN_OK;
}

/* The loop's clocks start now; one line says what the worker serves. */
static void log_started(modq_run *r)
{
    char nt[24], nb[24];

    r->last_commit_ms = r->clock(r->clock_arg);
    atomic_store(&r->last_turn_ms, r->last_commit_ms);
    snprintf(nt, sizeof nt, "%zu", r->ntopics);
    snprintf(nb, sizeof nb, "%zu", modq_banks_count(r->banks));
    modq_log_write(r->log, MODQ_LOG_INFO, "started", "role", modq_config_role_name(r->role),
                   "policy", modq_policy_version(r->policy), "topics", nt, "bank_hashes", nb, NULL);
}

modq_run_result modq_run_new(const modq_config *cfg, const modq_policy *policy,
                             const modq_run_opts *opts, modq_run **out, char *errstr,
                             size_t errstr_size)
{
    static const modq_run_opts defaults = {0};
    size_t window;
    modq_run_result rc;
    modq_run *r = NULL;

    if (out) {
        *out = NULL;
    }
    if (opts == NULL) {
        opts = &defaults;
    }
    if (cfg == NULL || policy == NULL || out == NULL || errstr == NULL || errstr_size == 0 ||
        opts->consumer_nextra > MODQ_RUN_MAX_EXTRA ||
        (opts->consumer_nextra > 0 && opts->consumer_extra == NULL)) {
        return MODQ_RUN_ERR_INVALID_ARG;
    }
    snprintf(errstr, errstr_size, "out of memory");
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        return MODQ_RUN_ERR_NOMEM;
    }
    r->cfg = cfg;
    r->policy = policy;
    r->role = modq_config_worker_role(cfg);
    window = (size_t)modq_config_worker_window_per_queue(cfg);
    if ((rc = make_state(r, opts, errstr, errstr_size)) != MODQ_RUN_OK) {
        goto out;
    }
    if (r->role == MODQ_CONFIG_ROLE_DESK) {
        /* One topic with every queue's window. */
        window *= r->ntopics;
        r->topics[0] = modq_config_topics_review(cfg);
        r->ntopics = 1;
    }
    if ((rc = make_preparation(r, window, errstr, errstr_size)) != MODQ_RUN_OK ||
        (rc = make_kafka(r, opts, window, errstr, errstr_size)) != MODQ_RUN_OK) {
        goto out;
    }
    log_started(r);
    *out = r;
    r = NULL;
    errstr[0] = '\0';
out:
    if (r != NULL) {
        r->drained = true; /* nothing was consumed: nothing to commit */
    }
    modq_run_free(r);
    return rc;
}

void modq_run_free(modq_run *r)
{
    if (r == NULL) {
        return;
    }
    if (r->pool != NULL) {
        if (!r->pool_stopped) {
            modq_pool_stop(r->pool, 0, run_drop_job, r);
        }
        modq_pool_free(r->pool);
    }
    for (size_t i = 0; i < r->nheld; i++) {
        rd_kafka_message_destroy(r->held[i]);
    }
    /* The followers first: their handlers use the desk and the consumer. */
    modq_follow_free(r->follow_decisions);
    modq_follow_free(r->follow_dead);
    modq_follow_free(r->follow_ledgers);
    r->retry_closed = true;
    modq_publish_free(r->publish); /* before the consumer: confirmations complete offsets */
    if (r->retry_lock_init) {
        run_retry_drop(r);
    }
    atomic_store(&r->consume_live, NULL);
    modq_consume_free(r->consume);
    modq_desk_free(r->desk);
    if (r->retry_lock_init) {
        pthread_mutex_destroy(&r->retry_lock);
    }
    if (r->wait_lock_init) {
        pthread_mutex_destroy(&r->wait_lock);
    }
    free(r->held);
    free(r->topics);
    modq_fetch_free(r->fetch);
    modq_sandbox_free(r->sandbox); /* after the pool: no preparation is running */
    run_banks_stop(r);
    modq_banks_free(r->banks);
    if (r->banks_lock_init) {
        pthread_rwlock_destroy(&r->banks_lock);
    }
    modq_decided_free(r->decided);
    modq_decided_free(r->dead);
    if (r->decided_lock_init) {
        pthread_mutex_destroy(&r->decided_lock);
    }
    modq_opts_free(r->media_opts);
    modq_log_free(r->log);
    free(r);
}
