/*
 * follow.c: reads a whole topic and then keeps following it, on its own thread, with a librdkafka
 * consumer that never joins its group: it assigns itself every partition, starting where start_ms
 * says, and never commits. See follow.h for the contract.
 *
 * Ownership: the partition table and the consumer belong to modq_follow_new until it starts the
 * thread, and to the thread after that. Only "caught up" (under the lock, with a condition
 * variable for waiters), the delivered count and the stop flag are shared.
 *
 * Where a partition starts: rd_kafka_offsets_for_times answers -1 both when no record is at or
 * after start_ms and when the broker cannot search by time (librdkafka's mock cluster always
 * answers -1). Starting at the end would then lose every record in the second case, so such a
 * partition is read from the beginning instead, and records older than start_ms are skipped until
 * the first one at or after it: the result is the same in both cases, the first just reads more.
 */
#include "follow.h"
#include "modq_common.h"

#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOPIC_MAX       249     /* Kafka's own limit on a topic name */
#define METADATA_MS_MAX 3600000 /* opts.metadata_ms */
#define RETRY_MS        1000    /* between attempts to place partitions whose offsets failed */
#define POLL_MS         100     /* how long the thread may take to notice the stop flag */

typedef struct part {
    int32_t id;
    bool placed;  /* start offset known and the partition assigned */
    bool target;  /* listed when the follower started: counts for "caught up" */
    bool done;    /* a target read up to high */
    bool started; /* a record at or after start_ms was seen: nothing is skipped any more */
    int64_t low, high;
} part;

struct modq_follow {
    char *topic;
    int64_t start_ms;
    int metadata_ms;
    modq_follow_fn on_message;
    modq_follow_log_fn on_log;
    void *arg;

    rd_kafka_t *rk;
    part *parts; /* owned by the thread once it runs */
    size_t nparts, cap, unplaced, targets_left;

    pthread_mutex_t lock; /* guards caught_up's changes, for the condition variable */
    pthread_cond_t cond;
    bool sync_made;
    atomic_bool caught_up;
    atomic_bool stop;
    atomic_uint_fast64_t count;
    pthread_t thread;
    bool thread_started;
};

static const char *const result_text[MODQ_FOLLOW_RESULT_COUNT] = {
    [MODQ_FOLLOW_OK] = "success",
    [MODQ_FOLLOW_ERR_INVALID_ARG] = "invalid argument",
    [MODQ_FOLLOW_ERR_NOMEM] = "out of memory",
    [MODQ_FOLLOW_ERR_KAFKA] = "the consumer could not be made or the topic not listed",
    [MODQ_FOLLOW_ERR_TIMEOUT] = "not caught up in time",
};

const char *modq_follow_strerror(modq_follow_result r)
{
    return (unsigned)r < MODQ_FOLLOW_RESULT_COUNT ? result_text[r] : "unknown result";
}

static bool stopping(modq_follow *f)
{
    return atomic_load(&f->stop);
}

/* ---- partitions ----------------------------------------------------------------------------- */

static part *part_find(modq_follow *f, int32_t id)
{
    for (size_t i = 0; i < f->nparts; i++) {
        if (f->parts[i].id == id) {
            return &f->parts[i];
        }
    }
    return NULL;
}

static modq_follow_result part_add(modq_follow *f, int32_t id, bool target, char *errstr,
                                   size_t errstr_size)
{
    if (part_find(f, id) != NULL) {
        return MODQ_FOLLOW_OK;
    }
    if (f->nparts == MODQ_FOLLOW_MAX_PARTITIONS) {
        modq_errstr_set(errstr, errstr_size, "topic '%s' has more than %d partitions", f->topic,
                        MODQ_FOLLOW_MAX_PARTITIONS);
        return MODQ_FOLLOW_ERR_KAFKA;
    }
    if (f->nparts == f->cap) {
        size_t cap = f->cap == 0 ? 16 : f->cap * 2;
        if (cap > MODQ_FOLLOW_MAX_PARTITIONS) {
            cap = MODQ_FOLLOW_MAX_PARTITIONS;
        }
        part *grown = realloc(f->parts, cap * sizeof *grown);
        if (grown == NULL) {
            modq_errstr_set(errstr, errstr_size, "out of memory");
            return MODQ_FOLLOW_ERR_NOMEM;
        }
        f->parts = grown;
        f->cap = cap;
    }
    f->parts[f->nparts++] = (part){.id = id, .target = target};
    f->unplaced++;
    return MODQ_FOLLOW_OK;
}

/* Marks a target partition read up to where it was at the start; the last one wakes waiters. */
static void mark_done(modq_follow *f, part *p)
{
    if (!p->target || p->done) {
        return;
    }
    p->done = true;
    if (--f->targets_left > 0) {
        return;
    }
    pthread_mutex_lock(&f->lock);
    atomic_store(&f->caught_up, true);
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

/*
 * Adds the partitions the topic has and the table has not. A topic that does not exist (yet)
 * has none: that is not an error, the next look may find it. Every topic is listed rather than
 * ours by name, because a Metadata request naming a topic creates it on a broker that
 * auto-creates topics and speaks Metadata v3 or older (librdkafka's mock cluster, old Kafka):
 * following a topic must not create it with whatever partition count the broker picks.
 */
static modq_follow_result discover(modq_follow *f, bool target, char *errstr, size_t errstr_size)
{
    const struct rd_kafka_metadata *md = NULL;
    modq_follow_result r = MODQ_FOLLOW_OK;

    rd_kafka_resp_err_t err = rd_kafka_metadata(f->rk, 1, NULL, &md, MODQ_FOLLOW_CALL_MS);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        modq_errstr_set(errstr, errstr_size, "listing topic '%s': %s", f->topic,
                        rd_kafka_err2str(err));
        return MODQ_FOLLOW_ERR_KAFKA;
    }
    for (int t = 0; t < md->topic_cnt && r == MODQ_FOLLOW_OK; t++) {
        const rd_kafka_metadata_topic_t *mt = &md->topics[t];
        if (strcmp(mt->topic, f->topic) != 0) {
            continue;
        }
        /* A topic being created may list no partitions yet (no leader); anything else without
         * partitions (authorisation, say) will not go away by itself. */
        if (mt->partition_cnt == 0 && mt->err != RD_KAFKA_RESP_ERR_NO_ERROR &&
            mt->err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART &&
            mt->err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) {
            modq_errstr_set(errstr, errstr_size, "listing topic '%s': %s", f->topic,
                            rd_kafka_err2str(mt->err));
            r = MODQ_FOLLOW_ERR_KAFKA;
        }
        for (int i = 0; i < mt->partition_cnt && r == MODQ_FOLLOW_OK; i++) {
            r = part_add(f, mt->partitions[i].id, target, errstr, errstr_size);
        }
    }
    rd_kafka_metadata_destroy(md);
    return r;
}

/* Reads the watermarks of the unplaced partitions into the table and lists those it could read,
 * each with start_ms as the offset to search for or BEGINNING when there is no time to search. */
static modq_follow_result read_marks(modq_follow *f, rd_kafka_topic_partition_list_t *list,
                                     char *errstr, size_t errstr_size)
{
    modq_follow_result r = MODQ_FOLLOW_OK;
    for (size_t i = 0; i < f->nparts && !stopping(f); i++) {
        part *p = &f->parts[i];
        if (p->placed) {
            continue;
        }
        rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(f->rk, f->topic, p->id, &p->low,
                                                                   &p->high, MODQ_FOLLOW_CALL_MS);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            modq_errstr_set(errstr, errstr_size, "watermarks of '%s' [%d]: %s", f->topic,
                            (int)p->id, rd_kafka_err2str(err));
            r = MODQ_FOLLOW_ERR_KAFKA;
            continue;
        }
        rd_kafka_topic_partition_list_add(list, f->topic, p->id)->offset =
            f->start_ms > 0 ? f->start_ms : RD_KAFKA_OFFSET_BEGINNING;
    }
    return r;
}

/*
 * Finds where each unplaced partition starts and assigns it; a partition that fails stays
 * unplaced for the next attempt. Incremental, so that partitions already being read keep their
 * positions when one is added.
 */
static modq_follow_result place(modq_follow *f, char *errstr, size_t errstr_size)
{
    modq_follow_result r = MODQ_FOLLOW_OK;
    rd_kafka_topic_partition_list_t *list = NULL;
    rd_kafka_error_t *error = NULL;

    if (f->unplaced == 0) {
        return MODQ_FOLLOW_OK;
    }
    if ((list = rd_kafka_topic_partition_list_new((int)f->unplaced)) == NULL) {
        modq_errstr_set(errstr, errstr_size, "out of memory");
        return MODQ_FOLLOW_ERR_NOMEM;
    }
    r = read_marks(f, list, errstr, errstr_size);
    if (list->cnt == 0) {
        goto out;
    }
    if (f->start_ms > 0) {
        rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(f->rk, list, MODQ_FOLLOW_CALL_MS);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            modq_errstr_set(errstr, errstr_size, "offsets by time of '%s': %s", f->topic,
                            rd_kafka_err2str(err));
            r = MODQ_FOLLOW_ERR_KAFKA;
            goto out;
        }
        for (int i = list->cnt - 1; i >= 0; i--) {
            rd_kafka_topic_partition_t *e = &list->elems[i];
            if (e->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                modq_errstr_set(errstr, errstr_size, "offset by time of '%s' [%d]: %s", f->topic,
                                (int)e->partition, rd_kafka_err2str(e->err));
                r = MODQ_FOLLOW_ERR_KAFKA;
                rd_kafka_topic_partition_list_del_by_idx(list, i);
            } else if (e->offset < 0) {
                e->offset = RD_KAFKA_OFFSET_BEGINNING; /* see the top of the file */
            }
        }
        if (list->cnt == 0) {
            goto out;
        }
    }
    if ((error = rd_kafka_incremental_assign(f->rk, list)) != NULL) {
        modq_errstr_set(errstr, errstr_size, "assigning '%s': %s", f->topic,
                        rd_kafka_error_string(error));
        r = MODQ_FOLLOW_ERR_KAFKA;
        goto out;
    }
    for (int i = 0; i < list->cnt; i++) {
        part *p = part_find(f, list->elems[i].partition);
        int64_t start = list->elems[i].offset;
        p->placed = true;
        f->unplaced--;
        if (p->high <= p->low || (start >= 0 && start >= p->high)) {
            mark_done(f, p); /* nothing there to catch up with */
        }
    }
out:
    if (error != NULL) {
        rd_kafka_error_destroy(error);
    }
    rd_kafka_topic_partition_list_destroy(list);
    return r;
}

/* ---- the thread ----------------------------------------------------------------------------- */

static void handle(modq_follow *f, const rd_kafka_message_t *m)
{
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        return; /* librdkafka retries by itself, and its log lines say what went wrong */
    }
    part *p = part_find(f, m->partition);
    if (p == NULL) {
        return;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        /* Reached the end as it is now, which is at or past where it was at the start (a
         * compacted topic may lack the record at high - 1, so offsets alone cannot tell). */
        mark_done(f, p);
        return;
    }
    int64_t ts = rd_kafka_message_timestamp(m, NULL);
    /* A record without a timestamp cannot be shown to be old: keep it. */
    if (f->start_ms <= 0 || p->started || ts < 0 || ts >= f->start_ms) {
        modq_follow_record rec = {m->key, m->key_len, m->payload, m->len, ts, m};
        p->started = true;
        f->on_message(f->arg, &rec);
        atomic_fetch_add(&f->count, 1);
    }
    if (m->offset + 1 >= p->high) {
        mark_done(f, p);
    }
}

/* Errors here are not reported: each is retried on the next round, and one that persists shows
 * as a wait that times out (and in librdkafka's log lines). */
static void *follow_thread(void *arg)
{
    modq_follow *f = arg;
    char why[256];
    int64_t next_metadata = modq_clock_mono_ms() + f->metadata_ms;
    int64_t next_place = modq_clock_mono_ms() + RETRY_MS;

    while (!stopping(f)) {
        int64_t now = modq_clock_mono_ms();
        if (now >= next_metadata) {
            (void)discover(f, false, why, sizeof why);
            next_metadata = now + f->metadata_ms;
            next_place = now; /* place what was found at once */
        }
        if (f->unplaced > 0 && now >= next_place && !stopping(f)) {
            (void)place(f, why, sizeof why);
            next_place = modq_clock_mono_ms() + RETRY_MS;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(f->rk, POLL_MS);
        if (m != NULL) {
            handle(f, m);
            rd_kafka_message_destroy(m);
        }
    }
    return NULL;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const modq_follow *f = rd_kafka_opaque(rk);
    if (f != NULL && f->on_log != NULL) {
        f->on_log(f->arg, level, fac, buf);
    }
}

static modq_follow_result conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                                   bool secret, char *errstr, size_t errstr_size)
{
    char why[256] = "";
    if (rd_kafka_conf_set(conf, name, value, why, sizeof why) != RD_KAFKA_CONF_OK) {
        /* librdkafka's text may quote the value, which may be a secret */
        modq_errstr_set(errstr, errstr_size, "kafka property '%s': %s", name,
                        secret ? "refused by librdkafka" : why);
        return MODQ_FOLLOW_ERR_KAFKA;
    }
    return MODQ_FOLLOW_OK;
}

/* Properties a follower depends on, set after the operator's and the caller's. */
static const char *const forced[][2] = {
    {"enable.auto.commit", "false"}, /* it never commits: the group is only a name */
    {"enable.auto.offset.store", "false"},
    {"enable.partition.eof", "true"},      /* EOF tells that a partition was read to its end */
    {"auto.offset.reset", "earliest"},     /* an offset lost to retention must not skip ahead */
    {"allow.auto.create.topics", "false"}, /* reading a topic must never create it */
};

/* cfg's kafka.* (not group.*: the follower is in no group), the extras, then what we force. */
static modq_follow_result build_conf(modq_follow *f, const modq_config *cfg,
                                     const modq_follow_opts *opts, rd_kafka_conf_t *conf,
                                     char *errstr, size_t errstr_size)
{
    modq_follow_result r = MODQ_FOLLOW_OK;
    char group[sizeof "modq-follow-" + TOPIC_MAX];

    for (size_t i = 0; r == MODQ_FOLLOW_OK && i < modq_config_kafka_count(cfg); i++) {
        const char *name = modq_config_kafka_name(cfg, i);
        if (strncmp(name, "group.", 6) != 0) {
            r = conf_set(conf, name, modq_config_kafka_value(cfg, i),
                         modq_config_kafka_secret(cfg, i), errstr, errstr_size);
        }
    }
    for (size_t i = 0; r == MODQ_FOLLOW_OK && i < opts->nextra; i++) {
        r = conf_set(conf, opts->extra[2 * i], opts->extra[2 * i + 1], false, errstr, errstr_size);
    }
    for (size_t i = 0; r == MODQ_FOLLOW_OK && i < sizeof forced / sizeof forced[0]; i++) {
        r = conf_set(conf, forced[i][0], forced[i][1], false, errstr, errstr_size);
    }
    /* librdkafka wants a group.id on any consumer handle, even one that only assigns. */
    snprintf(group, sizeof group, "modq-follow-%s", f->topic);
    if (r == MODQ_FOLLOW_OK) {
        r = conf_set(conf, "group.id", group, false, errstr, errstr_size);
    }
    if (r != MODQ_FOLLOW_OK) {
        return r;
    }
    rd_kafka_conf_set_opaque(conf, f);
    rd_kafka_conf_set_log_cb(conf, log_cb); /* always: with no on_log, lines are dropped */
    return MODQ_FOLLOW_OK;
}

static bool opts_valid(const modq_config *cfg, const modq_follow_opts *opts, char *errstr,
                       size_t errstr_size)
{
    if (cfg == NULL || opts == NULL || opts->on_message == NULL) {
        modq_errstr_set(errstr, errstr_size, "need a config, options and on_message");
        return false;
    }
    size_t len = opts->topic != NULL ? strnlen(opts->topic, TOPIC_MAX + 1) : 0;
    if (len == 0 || len > TOPIC_MAX) {
        modq_errstr_set(errstr, errstr_size, "the topic must be 1..%d bytes", TOPIC_MAX);
        return false;
    }
    if (opts->start_ms < 0 || opts->metadata_ms < 0 || opts->metadata_ms > METADATA_MS_MAX) {
        modq_errstr_set(errstr, errstr_size, "start_ms must be >= 0 and metadata_ms 0..%d",
                        METADATA_MS_MAX);
        return false;
    }
    if (opts->nextra > MODQ_FOLLOW_MAX_EXTRA || (opts->nextra > 0 && opts->extra == NULL)) {
        modq_errstr_set(errstr, errstr_size, "at most %d extra properties", MODQ_FOLLOW_MAX_EXTRA);
        return false;
    }
    for (size_t i = 0; i < 2 * opts->nextra; i++) {
        if (opts->extra[i] == NULL) {
            modq_errstr_set(errstr, errstr_size, "extra property %zu without a name or value",
                            i / 2);
            return false;
        }
    }
    return true;
}

static modq_follow_result sync_init(modq_follow *f)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        return MODQ_FOLLOW_ERR_NOMEM;
    }
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0 && (rc = pthread_mutex_init(&f->lock, NULL)) == 0) {
        if ((rc = pthread_cond_init(&f->cond, &attr)) != 0) {
            pthread_mutex_destroy(&f->lock);
        }
    }
    pthread_condattr_destroy(&attr);
    f->sync_made = rc == 0;
    return rc == 0 ? MODQ_FOLLOW_OK : MODQ_FOLLOW_ERR_NOMEM;
}

modq_follow_result modq_follow_new(const modq_config *cfg, const modq_follow_opts *opts,
                                   modq_follow **out, char *errstr, size_t errstr_size)
{
    modq_follow_result r = MODQ_FOLLOW_ERR_INVALID_ARG;
    rd_kafka_conf_t *conf = NULL;
    modq_follow *f = NULL;
    char why[512] = "";

    if (errstr != NULL && errstr_size > 0) {
        errstr[0] = '\0';
    }
    if (out != NULL) {
        *out = NULL;
    }
    if (out == NULL || !opts_valid(cfg, opts, errstr, errstr_size)) {
        goto out;
    }
    r = MODQ_FOLLOW_ERR_NOMEM;
    if ((f = calloc(1, sizeof *f)) == NULL || (f->topic = strdup(opts->topic)) == NULL ||
        sync_init(f) != MODQ_FOLLOW_OK || (conf = rd_kafka_conf_new()) == NULL) {
        modq_errstr_set(errstr, errstr_size, "out of memory");
        goto out;
    }
    f->start_ms = opts->start_ms;
    f->metadata_ms = opts->metadata_ms > 0 ? opts->metadata_ms : MODQ_FOLLOW_METADATA_MS;
    f->on_message = opts->on_message;
    f->on_log = opts->on_log;
    f->arg = opts->arg;
    atomic_init(&f->caught_up, false);
    atomic_init(&f->stop, false);
    atomic_init(&f->count, 0);
    if ((r = build_conf(f, cfg, opts, conf, errstr, errstr_size)) != MODQ_FOLLOW_OK) {
        goto out;
    }
    if ((f->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why)) == NULL) {
        modq_errstr_set(errstr, errstr_size, "consumer: %s", why);
        r = MODQ_FOLLOW_ERR_KAFKA;
        goto out;
    }
    conf = NULL; /* owned by f->rk now */
    rd_kafka_poll_set_consumer(f->rk);
    if ((r = discover(f, true, errstr, errstr_size)) != MODQ_FOLLOW_OK) {
        goto out;
    }
    f->targets_left = f->nparts;
    if (f->nparts == 0) {
        atomic_store(&f->caught_up, true);
    }
    /* A partition whose offsets cannot be read now is retried by the thread. */
    if ((r = place(f, why, sizeof why)) == MODQ_FOLLOW_ERR_NOMEM) {
        modq_errstr_set(errstr, errstr_size, "out of memory");
        goto out;
    }
    if (pthread_create(&f->thread, NULL, follow_thread, f) != 0) {
        modq_errstr_set(errstr, errstr_size, "cannot start the follower's thread");
        r = MODQ_FOLLOW_ERR_NOMEM;
        goto out;
    }
    f->thread_started = true;
    *out = f;
    f = NULL;
    r = MODQ_FOLLOW_OK;
out:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    modq_follow_free(f);
    return r;
}

modq_follow_result modq_follow_wait(modq_follow *f, int timeout_ms)
{
    struct timespec deadline;
    int rc = 0;

    if (f == NULL || timeout_ms < 0) {
        return MODQ_FOLLOW_ERR_INVALID_ARG;
    }
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&f->lock);
    while (!atomic_load(&f->caught_up) && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&f->cond, &f->lock, &deadline);
    }
    bool ok = atomic_load(&f->caught_up);
    pthread_mutex_unlock(&f->lock);
    return ok ? MODQ_FOLLOW_OK : MODQ_FOLLOW_ERR_TIMEOUT;
}

bool modq_follow_header(const modq_follow_record *rec, const char *name, char *out, size_t size)
{
    rd_kafka_headers_t *h = NULL;
    const void *v = NULL;
    size_t n = 0;

    if (rec == NULL || rec->msg == NULL || name == NULL || out == NULL || size == 0 ||
        rd_kafka_message_headers(rec->msg, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || n >= size ||
        (n > 0 && (v == NULL || memchr(v, '\0', n) != NULL))) {
        return false;
    }
    if (n > 0) {
        memcpy(out, v, n);
    }
    out[n] = '\0';
    return true;
}

bool modq_follow_caught_up(const modq_follow *f)
{
    /* atomic_load takes a non-const pointer in some C libraries' headers. */
    return f != NULL && atomic_load((atomic_bool *)(uintptr_t)&f->caught_up);
}

uint64_t modq_follow_count(const modq_follow *f)
{
    return f == NULL ? 0 : (uint64_t)atomic_load((atomic_uint_fast64_t *)(uintptr_t)&f->count);
}

void modq_follow_free(modq_follow *f)
{
    if (f == NULL) {
        return;
    }
    atomic_store(&f->stop, true);
    if (f->thread_started) {
        pthread_join(f->thread, NULL);
    }
    if (f->rk != NULL) {
        rd_kafka_consumer_close(f->rk);
        rd_kafka_destroy(f->rk);
    }
    if (f->sync_made) {
        pthread_cond_destroy(&f->cond);
        pthread_mutex_destroy(&f->lock);
    }
    free(f->parts);
    free(f->topic);
    free(f);
}
