/*
 * pipeline_kafka.c: the Kafka side of modq-bench-pipeline: the in-process mock cluster, the
 * ticket backlog produced up front, and one timed run of the worker loop (run.h) against it, with
 * the process's CPU time split between the worker's own threads, librdkafka's client threads and
 * the mock brokers' thread, and its memory read from /proc/self/status.
 */
#include "modq_common.h"
#include "pipeline_bench.h"

#include "proto/modq.pb-c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BROKERS 3
/* The mock keeps only the newest 5 MiB of each partition and drops older record batches, so a
 * backlog produced up front must be spread until no partition holds more than that; the margin
 * covers batch and record headers. A ticket bigger than the limit gets a partition to itself
 * (the mock always keeps a partition's last batch). */
#define PART_FILL_BYTES (4u * 1024u * 1024u)
#define MIN_PARTITIONS  3 /* at least one per broker, as a real deployment would have */
#define MAX_TOPICS      64
#define ID_SIZE         48
/* The producer must send a whole corpus image in one record (Kafka's default is 1 MB). */
#define PRODUCE_MAX_BYTES "100000000"
#define FLUSH_MS          120000
#define STEP_MS           10 /* consumer poll per turn: short, so confirmations are served */
#define DRAIN_MS          30000
#define YAML_SIZE         4096
#define MAX_THREADS       1024 /* threads in one /proc snapshot; more are left out */
#define PROC_LINE         512

/* ---- the cluster and the backlog ---------------------------------------------------------- */

double pb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int pb_cluster_new(modq_mock **out, char *err, size_t errsz)
{
    return modq_mock_new(BROKERS, NULL, out, err, errsz) == MODQ_MOCK_OK ? 0 : -1;
}

size_t pb_queue_share(const modq_policy *policy, size_t n, size_t q)
{
    size_t nq = modq_policy_queue_count(policy);
    return nq == 0 || q >= nq ? 0 : n / nq + (q < n % nq ? 1 : 0);
}

/* Distinct topics of the policy's queues; qtopic[q] is queue q's index into topics. */
static int collect_topics(const modq_policy *policy, const char **topics, size_t *ntopics,
                          size_t *qtopic, char *err, size_t errsz)
{
    size_t nq = modq_policy_queue_count(policy);

    *ntopics = 0;
    if (nq == 0 || nq > MAX_TOPICS) {
        snprintf(err, errsz, "the policy has %zu queues (1..%d here)", nq, MAX_TOPICS);
        return -1;
    }
    for (size_t q = 0; q < nq; q++) {
        const char *t = modq_policy_queue_topic(policy, q);
        size_t i = 0;
        while (i < *ntopics && strcmp(topics[i], t) != 0) {
            i++;
        }
        if (i == *ntopics) {
            topics[(*ntopics)++] = t;
        }
        qtopic[q] = i;
    }
    return 0;
}

/* Ticket i of a backlog: the fields point into ids and the image (not copied). */
static void ticket_fill(Modq__V1__Ticket *t, Modq__V1__Media *m, const modq_policy *policy,
                        const char *prefix, size_t i, const pb_image *img, char *tid, char *cid)
{
    size_t nq = modq_policy_queue_count(policy);

    snprintf(tid, ID_SIZE, "%s-t%07zu", prefix, i);
    snprintf(cid, ID_SIZE, "%s-c%07zu", prefix, i);
    modq__v1__ticket__init(t);
    modq__v1__media__init(m);
    t->ticket_id = tid;
    t->content_id = cid;
    /* The policy owns the name; protobuf-c wants a mutable pointer but only reads it. */
    t->queue = MODQ_UNCONST(modq_policy_queue_name(policy, i % nq));
    t->trace_id = tid;
    t->source = MODQ_UNCONST("modq-bench-pipeline");
    m->source_case = MODQ__V1__MEDIA__SOURCE_INLINE_BYTES;
    m->inline_bytes.data = img->data;
    m->inline_bytes.len = img->len;
    t->media = m;
}

/*
 * First fit per topic: each ticket goes to the first partition with room, else a new one; part[i]
 * receives ticket i's partition, nparts[t] each topic's partition count.
 */
static int plan_partitions(const modq_policy *policy, const char *prefix, size_t n,
                           const pb_image *images, size_t nimages, const size_t *qtopic,
                           size_t ntopics, int32_t *part, int *nparts, char *err, size_t errsz)
{
    size_t *fill = NULL;
    unsigned char *solo = NULL;
    size_t nq = modq_policy_queue_count(policy);
    int rc = -1;

    fill = calloc(ntopics * MODQ_MOCK_MAX_PARTITIONS, sizeof *fill);
    solo = calloc(ntopics * MODQ_MOCK_MAX_PARTITIONS, 1);
    if (!fill || !solo) {
        snprintf(err, errsz, "out of memory planning partitions");
        goto out;
    }
    for (size_t t = 0; t < ntopics; t++) {
        nparts[t] = MIN_PARTITIONS;
    }
    for (size_t i = 0; i < n; i++) {
        Modq__V1__Ticket tk;
        Modq__V1__Media m;
        char tid[ID_SIZE], cid[ID_SIZE];
        size_t t = qtopic[i % nq], *f = fill + t * MODQ_MOCK_MAX_PARTITIONS, sz;
        unsigned char *s = solo + t * MODQ_MOCK_MAX_PARTITIONS;
        int p = 0;

        ticket_fill(&tk, &m, policy, prefix, i, &images[i % nimages], tid, cid);
        sz = modq__v1__ticket__get_packed_size(&tk);
        if (sz <= PART_FILL_BYTES) {
            while (p < nparts[t] && (s[p] || f[p] + sz > PART_FILL_BYTES)) {
                p++;
            }
        } else {
            while (p < nparts[t] && (s[p] || f[p] > 0)) {
                p++;
            }
        }
        if (p >= MODQ_MOCK_MAX_PARTITIONS) {
            snprintf(err, errsz, "backlog too big for %d partitions of %u bytes per topic",
                     MODQ_MOCK_MAX_PARTITIONS, PART_FILL_BYTES);
            goto out;
        }
        if (p == nparts[t]) {
            nparts[t]++;
        }
        f[p] += sz;
        s[p] = sz > PART_FILL_BYTES;
        part[i] = p;
    }
    rc = 0;
out:
    free(fill);
    free(solo);
    return rc;
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
}

static void count_failed(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        (*(size_t *)opaque)++;
    }
}

static rd_kafka_t *producer_new(modq_mock *m, size_t *failed, char *err, size_t errsz)
{
    static const char *const props[][2] = {
        {"message.max.bytes", PRODUCE_MAX_BYTES},
        {"linger.ms", "5"},
        {"queue.buffering.max.kbytes", "2097151"}, /* librdkafka's maximum: the whole backlog */
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", modq_mock_bootstrap(m), err, errsz) !=
        RD_KAFKA_CONF_OK) {
        goto out;
    }
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err, errsz) != RD_KAFKA_CONF_OK) {
            goto out;
        }
    }
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_conf_set_dr_msg_cb(conf, count_failed);
    rd_kafka_conf_set_opaque(conf, failed);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errsz);
    if (rk) {
        conf = NULL; /* rd_kafka_new took it */
    }
out:
    if (conf) {
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

/* Packs ticket i and hands it to the producer, which frees it once delivered. */
static int produce_one(rd_kafka_t *rk, const modq_policy *policy, const char *topic,
                       const char *prefix, size_t i, const pb_image *img, int32_t part,
                       uint64_t *bytes, char *err, size_t errsz)
{
    Modq__V1__Ticket tk;
    Modq__V1__Media m;
    char tid[ID_SIZE], cid[ID_SIZE];
    uint8_t *buf = NULL;
    size_t len;
    rd_kafka_resp_err_t e;
    int rc = -1;

    ticket_fill(&tk, &m, policy, prefix, i, img, tid, cid);
    len = modq__v1__ticket__get_packed_size(&tk);
    if (!(buf = malloc(len ? len : 1))) {
        snprintf(err, errsz, "out of memory for a ticket of %zu bytes", len);
        goto out;
    }
    modq__v1__ticket__pack(&tk, buf);
    for (;;) {
        e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                              RD_KAFKA_V_KEY(tid, strlen(tid)), RD_KAFKA_V_VALUE(buf, len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            break;
        }
        rd_kafka_poll(rk, 100); /* the local queue is full: let deliveries drain it */
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errsz, "produce %s [%d]: %s", topic, (int)part, rd_kafka_err2str(e));
        goto out;
    }
    buf = NULL; /* the producer owns it now */
    *bytes += len;
    rc = 0;
out:
    free(buf);
    return rc;
}

int pb_produce(modq_mock *m, const modq_policy *policy, const char *prefix, size_t n,
               const pb_image *images, size_t nimages, uint64_t *bytes, char *err, size_t errsz)
{
    const char *topics[MAX_TOPICS];
    size_t qtopic[MAX_TOPICS], ntopics = 0, failed = 0, nq = modq_policy_queue_count(policy);
    int nparts[MAX_TOPICS];
    int32_t *part = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_resp_err_t e;
    int rc = -1;

    *bytes = 0;
    if (n == 0 || n > PB_MAX_TICKETS || nimages == 0) {
        snprintf(err, errsz, "tickets: 1..%d, with at least one image", PB_MAX_TICKETS);
        goto out;
    }
    if (collect_topics(policy, topics, &ntopics, qtopic, err, errsz) != 0) {
        goto out;
    }
    if (!(part = calloc(n, sizeof *part))) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    if (plan_partitions(policy, prefix, n, images, nimages, qtopic, ntopics, part, nparts, err,
                        errsz) != 0) {
        goto out;
    }
    for (size_t t = 0; t < ntopics; t++) {
        modq_mock_result mr = modq_mock_topic_create(m, topics[t], nparts[t], BROKERS, err, errsz);
        if (mr != MODQ_MOCK_OK) {
            snprintf(err, errsz, "topic %s: %s", topics[t], modq_mock_strerror(mr));
            goto out;
        }
    }
    if (!(rk = producer_new(m, &failed, err, errsz))) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (produce_one(rk, policy, topics[qtopic[i % nq]], prefix, i, &images[i % nimages],
                        part[i], bytes, err, errsz) != 0) {
            goto out;
        }
        rd_kafka_poll(rk, 0);
    }
    if ((e = rd_kafka_flush(rk, FLUSH_MS)) != RD_KAFKA_RESP_ERR_NO_ERROR || failed > 0) {
        snprintf(err, errsz, "backlog not acknowledged: %s, %zu failed", rd_kafka_err2str(e),
                 failed);
        goto out;
    }
    rc = 0;
out:
    if (rk) {
        rd_kafka_destroy(rk);
    }
    free(part);
    return rc;
}

/* ---- /proc ------------------------------------------------------------------------------------
 */

void pb_memory(long *rss_kb, long *hwm_kb)
{
    char line[PROC_LINE];
    FILE *f = fopen("/proc/self/status", "r");

    *rss_kb = *hwm_kb = -1;
    if (!f) {
        return;
    }
    while (fgets(line, sizeof line, f)) {
        long *dst = strncmp(line, "VmRSS:", 6) == 0   ? rss_kb
                    : strncmp(line, "VmHWM:", 6) == 0 ? hwm_kb
                                                      : NULL;
        if (dst) {
            *dst = strtol(line + 6, NULL, 10);
        }
    }
    fclose(f);
}

int pb_reset_hwm(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    int rc = -1;

    if (fd < 0) {
        return -1;
    }
    if (write(fd, "5", 1) == 1) {
        rc = 0;
    }
    close(fd);
    return rc;
}

enum thread_kind { T_WORKER, T_CLIENT, T_BROKER };

typedef struct thread_cpu {
    long tid;
    enum thread_kind kind;
    unsigned long long ticks; /* utime + stime */
} thread_cpu;

typedef struct thread_snap {
    thread_cpu t[MAX_THREADS];
    size_t n;
} thread_snap;

/* One /proc/self/task/TID/stat line into *out. 0, or -1 when it is gone or unreadable. */
static int read_thread(long tid, thread_cpu *out)
{
    char path[64], line[PROC_LINE], *open_paren, *close_paren, *p, *end;
    unsigned long long v[2];
    FILE *f;
    int rc = -1;

    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
    if (!(f = fopen(path, "r"))) {
        return -1;
    }
    if (!fgets(line, sizeof line, f)) {
        goto out;
    }
    /* The name may hold spaces and parentheses: it runs from the first '(' to the last ')'. */
    open_paren = strchr(line, '(');
    close_paren = strrchr(line, ')');
    if (!open_paren || !close_paren || close_paren < open_paren) {
        goto out;
    }
    *close_paren = '\0';
    out->tid = tid;
    out->kind = strncmp(open_paren + 1, "rdk:mock", 8) == 0 ? T_BROKER
                : strncmp(open_paren + 1, "rdk:", 4) == 0   ? T_CLIENT
                                                            : T_WORKER;
    /* After the name: state is field 3; utime and stime are fields 14 and 15. */
    p = close_paren + 1;
    for (int field = 3; field < 14; field++) {
        p = strchr(p + 1, ' ');
        if (!p) {
            goto out;
        }
    }
    for (int k = 0; k < 2; k++) {
        errno = 0;
        v[k] = strtoull(p, &end, 10);
        if (errno != 0 || end == p) {
            goto out;
        }
        p = end;
    }
    out->ticks = v[0] + v[1];
    rc = 0;
out:
    fclose(f);
    return rc;
}

static void snapshot(thread_snap *s)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;

    s->n = 0;
    if (!d) {
        return;
    }
    while ((e = readdir(d)) != NULL && s->n < MAX_THREADS) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (end != e->d_name && *end == '\0' && read_thread(tid, &s->t[s->n]) == 0) {
            s->n++;
        }
    }
    closedir(d);
}

/* CPU spent between two snapshots; a thread born in between counts from zero. Threads that
 * ended in between are lost: the phases keep their clients alive across both snapshots. */
static pb_cpu cpu_between(const thread_snap *a, const thread_snap *b)
{
    double ms_per_tick = 1000.0 / (double)sysconf(_SC_CLK_TCK);
    pb_cpu c = {0, 0, 0};

    for (size_t i = 0; i < b->n; i++) {
        unsigned long long before = 0;
        double ms;
        for (size_t j = 0; j < a->n; j++) {
            if (a->t[j].tid == b->t[i].tid) {
                before = a->t[j].ticks;
                break;
            }
        }
        ms = (double)(b->t[i].ticks - (b->t[i].ticks >= before ? before : b->t[i].ticks)) *
             ms_per_tick;
        if (b->t[i].kind == T_BROKER) {
            c.broker_ms += ms;
        } else if (b->t[i].kind == T_CLIENT) {
            c.client_ms += ms;
        } else {
            c.worker_ms += ms;
        }
    }
    return c;
}

/* ---- one run of the worker ------------------------------------------------------------------ */

static int load_config(const pb_env *env, const pb_phase *ph, modq_config **cfg, char *err,
                       size_t errsz)
{
    char yaml[YAML_SIZE], window[64] = "", bank[MODQ_CONFIG_PATH_MAX + 128] = "";
    int n;

    if (ph->window > 0) {
        snprintf(window, sizeof window, "  window_per_queue: %d\n", ph->window);
    }
    if (ph->bank_file) {
        snprintf(bank, sizeof bank,
                 "banks:\n  - name: bench-corpus\n    file: \"%s\"\n    verdict: remove\n",
                 ph->bank_file);
    }
    /* Each phase has its own group (so it reads the backlog from the start) and its own decisions
     * topic: the worker reads the decisions topic into its decided set at start, and an earlier
     * phase's decisions would turn these tickets into duplicates (same ids) or into automatic
     * decisions by prior verdict (same bytes). */
    n = snprintf(yaml, sizeof yaml,
                 "worker:\n  id: bench-%s\n  policy: \"%s\"\n  prepare_threads: %d\n%s"
                 "kafka:\n  bootstrap.servers: \"%s\"\n  log_level: 3\n"
                 "consumer:\n  group_id: modq-bench-%s\n"
                 "topics:\n  decisions: modq.bench.decisions.%s\n"
                 "%slog:\n  level: warn\n",
                 ph->name, env->policy_path, ph->threads, window, modq_mock_bootstrap(env->mock),
                 ph->name, ph->name, bank);
    if (n < 0 || (size_t)n >= sizeof yaml) {
        snprintf(err, errsz, "configuration longer than %d bytes", YAML_SIZE);
        return -1;
    }
    return modq_config_load_buffer(yaml, (size_t)n, "pipeline.yaml", NULL, cfg, err, errsz) ==
                   MODQ_CONFIG_OK
               ? 0
               : -1;
}

static int goal_met(const pb_phase *ph, modq_run *r, const modq_run_counters *c)
{
    switch (ph->goal) {
    case PB_GOAL_CONFIRMED:
        return c->confirmed >= ph->target;
    case PB_GOAL_REVIEW:
        return c->review >= ph->target;
    case PB_GOAL_WINDOW:
        return modq_run_review_count(r) >= ph->target;
    }
    return 0;
}

static void describe(const modq_run_counters *c, size_t held, char *buf, size_t size)
{
    snprintf(buf, size,
             "received=%llu review=%llu held=%zu auto=%llu confirmed=%llu dead_letter=%llu "
             "duplicate=%llu prepare_failed=%llu publish_failed=%llu",
             (unsigned long long)c->received, (unsigned long long)c->review, held,
             (unsigned long long)c->auto_decided, (unsigned long long)c->confirmed,
             (unsigned long long)c->dead_letter, (unsigned long long)c->duplicate,
             (unsigned long long)c->prepare_failed, (unsigned long long)c->publish_failed);
}

/* Steps r until the goal; fills res->wall_ms, join_ms, cpu. 0, or -1 with err. */
static int step_to_goal(modq_run *r, const pb_phase *ph, double deadline, thread_snap *snaps,
                        pb_result *res, char *err, size_t errsz)
{
    double t0, now;
    char state[256];

    snapshot(&snaps[0]);
    t0 = pb_now_ms();
    res->join_ms = -1;
    for (;;) {
        modq_run_result rr = modq_run_step(r, STEP_MS);
        now = pb_now_ms();
        modq_run_counts(r, &res->counts);
        if (rr != MODQ_RUN_OK) {
            snprintf(err, errsz, "step: %s", modq_run_strerror(rr));
            return -1;
        }
        if (res->join_ms < 0 && res->counts.received > 0) {
            res->join_ms = now - t0;
        }
        /* Anything but the expected outcome means the figures would not be what they claim. */
        if (res->counts.dead_letter || res->counts.duplicate || res->counts.prepare_failed ||
            res->counts.publish_failed || (ph->bank_file == NULL && res->counts.auto_decided) ||
            (ph->bank_file != NULL && res->counts.review)) {
            describe(&res->counts, modq_run_review_count(r), state, sizeof state);
            snprintf(err, errsz, "unexpected outcome (see the worker log): %s", state);
            return -1;
        }
        if (goal_met(ph, r, &res->counts)) {
            break;
        }
        if (now > deadline) {
            describe(&res->counts, modq_run_review_count(r), state, sizeof state);
            snprintf(err, errsz, "goal not reached in %d s: %s", ph->timeout_ms / 1000, state);
            return -1;
        }
    }
    snapshot(&snaps[1]);
    res->wall_ms = now - t0;
    res->cpu = cpu_between(&snaps[0], &snaps[1]);
    return 0;
}

int pb_run_phase(const pb_env *env, const pb_phase *ph, pb_result *res, char *err, size_t errsz)
{
    modq_run_opts opts = {.log_out = env->log};
    modq_config *cfg = NULL;
    modq_run *r = NULL;
    thread_snap *snaps = NULL; /* two of them: too big for the stack */
    double deadline = pb_now_ms() + ph->timeout_ms;
    int rc = -1;

    memset(res, 0, sizeof *res);
    if (!(snaps = calloc(2, sizeof *snaps))) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    if (load_config(env, ph, &cfg, err, errsz) != 0) {
        goto out;
    }
    if (modq_run_new(cfg, env->policy, &opts, &r, err, errsz) != MODQ_RUN_OK) {
        goto out;
    }
    if (step_to_goal(r, ph, deadline, snaps, res, err, errsz) != 0) {
        goto out;
    }
    if (ph->goal == PB_GOAL_WINDOW) {
        /* The window must stay full: the worker keeps polling, and Kafka keeps the rest. */
        double end = pb_now_ms() + ph->hold_ms;
        while (pb_now_ms() < end) {
            if (modq_run_step(r, STEP_MS) != MODQ_RUN_OK) {
                snprintf(err, errsz, "step failed while holding the window");
                goto out;
            }
        }
        modq_run_counts(r, &res->counts);
    }
    res->held = modq_run_review_count(r);
    pb_memory(&res->rss_kb, &res->hwm_kb);
    rc = 0;
out:
    if (r) {
        modq_run_drain(r, DRAIN_MS);
        modq_run_free(r);
    }
    modq_config_free(cfg);
    free(snaps);
    return rc;
}
