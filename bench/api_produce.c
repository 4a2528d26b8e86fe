/*
 * api_produce.c: `modq-bench-api produce`, the review tickets of bench/api, put on Kafka before
 * the worker is measured (api_bench.h).
 *
 *   modq-bench-api produce --bootstrap B --policy FILE --images DIR --queues Q1,Q2,..
 *                          --count N --partitions P [--prefix ID]
 *
 * Ticket i goes to queue i mod Q (the policy names its topic and category) and, within that
 * topic, to partition (i / Q) mod P; it carries file i mod F of DIR (files in name order) as
 * inline media. It exits 0 once Kafka has confirmed every ticket, 1 otherwise, 2 on usage.
 *
 * Why C rather than tests/worker/interop/e2e_produce.py: thousands of 25 KB tickets from Python
 * take long enough on a busy 2-core machine for its batches to expire; librdkafka sends them in
 * seconds.
 */
#include "api_bench.h"
#include "bench_args.h"

#include "modq_policy.h"
#include "proto/modq.pb-c.h"

#include <dirent.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_QUEUES     16
#define MAX_PARTITIONS 256
#define MAX_IMAGES     100000
#define MAX_COUNT      1000000
#define IMAGE_MAX      (4u * 1024 * 1024)
#define PATH_SIZE      4096
#define ID_SIZE        64
#define LIST_SIZE      1024
/* The mock broker keeps only the newest 5 MiB of each partition and silently drops older
 * batches, so a backlog made up front must stay under that per partition (headers: margin). */
#define PARTITION_BYTES (4u * 1024 * 1024)
#define FLUSH_MS        120000
#define ERR_SIZE        512

typedef struct image {
    unsigned char *data;
    size_t len;
} image;

typedef struct queue {
    char name[MODQ_POLICY_NAME_MAX], category[MODQ_POLICY_NAME_MAX];
    const char *topic;
} queue;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of dir, in name order, read whole (each at most IMAGE_MAX bytes). */
static int read_images(const char *dir, image **out, size_t *n, char *err, size_t errsz)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL, path[PATH_SIZE];
    size_t nn = 0;
    int rc = -1;

    *out = NULL;
    *n = 0;
    if (!d || !(names = calloc(MAX_IMAGES, sizeof *names))) {
        snprintf(err, errsz, "%s: %s", dir, d ? "out of memory" : strerror(errno));
        goto out;
    }
    while ((e = readdir(d)) != NULL && nn < MAX_IMAGES) {
        if (e->d_name[0] != '.' && !(names[nn++] = strdup(e->d_name))) {
            snprintf(err, errsz, "out of memory");
            goto out;
        }
    }
    qsort(names, nn, sizeof *names, cmp_str);
    if (nn == 0 || !(*out = calloc(nn, sizeof **out))) {
        snprintf(err, errsz, "%s: %s", dir, nn ? "out of memory" : "no files");
        goto out;
    }
    for (size_t i = 0; i < nn; i++) {
        struct stat st;
        FILE *f;
        int w = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (w < 0 || (size_t)w >= sizeof path || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
            st.st_size <= 0 || (unsigned long long)st.st_size > IMAGE_MAX) {
            snprintf(err, errsz, "%s/%s: not a regular file of 1..%u bytes", dir, names[i],
                     IMAGE_MAX);
            goto out;
        }
        image *im = &(*out)[(*n)++];
        if (!(im->data = malloc((size_t)st.st_size)) || !(f = fopen(path, "rb"))) {
            snprintf(err, errsz, "%.300s: %s", path, im->data ? strerror(errno) : "out of memory");
            goto out;
        }
        im->len = fread(im->data, 1, (size_t)st.st_size, f);
        fclose(f);
        if (im->len != (size_t)st.st_size) {
            snprintf(err, errsz, "%.300s: short read", path);
            goto out;
        }
    }
    rc = 0;
out:
    if (d) {
        closedir(d);
    }
    for (size_t i = 0; names && i < nn; i++) {
        free(names[i]);
    }
    free(names);
    return rc;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        (*(size_t *)opaque)++;
    }
}

/* Only librdkafka's errors reach stderr: its notices about the mock are noise here. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 3) {
        fprintf(stderr, "modq-bench-api produce: librdkafka %s: %s\n", fac, buf);
    }
}

static rd_kafka_t *producer_new(const char *bootstrap, size_t *failed, char *err, size_t errsz)
{
    static const char *const props[][2] = {
        {"linger.ms", "5"},
        {"acks", "all"},
        {"queue.buffering.max.kbytes", "1048576"},
        {"queue.buffering.max.messages", "1000000"},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, errsz) != RD_KAFKA_CONF_OK) {
        goto out;
    }
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err, errsz) != RD_KAFKA_CONF_OK) {
            goto out;
        }
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_opaque(conf, failed);
    if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errsz)) != NULL) {
        conf = NULL;   /* now rk's */
        err[0] = '\0'; /* "acks" is a topic property: the global attempt leaves a message */
    }
out:
    if (conf) {
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

/* Queue names of list (comma-separated) resolved against the policy into q; count or -1. */
static int resolve_queues(const modq_policy *pol, const char *list, queue *q, char *err,
                          size_t errsz)
{
    char buf[LIST_SIZE], *p = buf;
    int n = 0;
    size_t len = strlen(list);

    if (len == 0 || len >= sizeof buf) {
        snprintf(err, errsz, "--queues: 1..%d bytes", LIST_SIZE - 1);
        return -1;
    }
    memcpy(buf, list, len + 1);
    while (p) {
        char *comma = strchr(p, ',');
        int qi;
        if (comma) {
            *comma = '\0';
        }
        if (n == MAX_QUEUES || (qi = modq_policy_queue_find(pol, p)) < 0) {
            snprintf(err, errsz, "--queues: '%s' is not a queue of the policy (or over %d)", p,
                     MAX_QUEUES);
            return -1;
        }
        /* The policy's own strings: it caps names below MODQ_POLICY_NAME_MAX. */
        const char *qn = modq_policy_queue_name(pol, (size_t)qi);
        const char *qc = modq_policy_queue_category(pol, (size_t)qi);
        if (strlen(qn) >= sizeof q[n].name || strlen(qc) >= sizeof q[n].category) {
            snprintf(err, errsz, "--queues: a queue or category name is too long");
            return -1;
        }
        memcpy(q[n].name, qn, strlen(qn) + 1);
        memcpy(q[n].category, qc, strlen(qc) + 1);
        q[n++].topic = modq_policy_queue_topic(pol, (size_t)qi);
        p = comma ? comma + 1 : NULL;
    }
    return n;
}

/* Packs ticket i and hands it to rk (which frees the bytes once delivered); -1 on failure. */
static int produce_one(rd_kafka_t *rk, const queue *q, int32_t part, const char *prefix, size_t i,
                       const image *im, int64_t now_ms, size_t *bytes, char *err, size_t errsz)
{
    Modq__V1__Ticket t;
    Modq__V1__Media m;
    char id[ID_SIZE], cid[ID_SIZE + 2], source[] = "modq-bench-api", mime[] = "image/jpeg";
    char name[MODQ_POLICY_NAME_MAX], cat[MODQ_POLICY_NAME_MAX];
    unsigned char *buf;
    size_t len;
    rd_kafka_resp_err_t e;

    modq__v1__ticket__init(&t);
    modq__v1__media__init(&m);
    snprintf(id, sizeof id, "%s%06zu", prefix, i);
    snprintf(cid, sizeof cid, "c-%s", id);
    memcpy(name, q->name, sizeof name);
    memcpy(cat, q->category, sizeof cat);
    t.ticket_id = id;
    t.content_id = cid;
    t.queue = name;
    t.category = cat;
    t.created_at_ms = now_ms;
    t.trace_id = id;
    t.source = source;
    m.source_case = MODQ__V1__MEDIA__SOURCE_INLINE_BYTES;
    m.inline_bytes.data = im->data;
    m.inline_bytes.len = im->len;
    m.claimed_mime_type = mime;
    t.media = &m;
    len = modq__v1__ticket__get_packed_size(&t);
    if (!(buf = malloc(len))) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    modq__v1__ticket__pack(&t, buf);
    *bytes = len;
    for (;;) {
        e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(q->topic), RD_KAFKA_V_PARTITION(part),
                              RD_KAFKA_V_KEY(id, strlen(id)), RD_KAFKA_V_VALUE(buf, len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            break;
        }
        rd_kafka_poll(rk, 100); /* the local queue is full: let deliveries drain it */
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        free(buf);
        snprintf(err, errsz, "producing %s: %s", id, rd_kafka_err2str(e));
        return -1;
    }
    rd_kafka_poll(rk, 0);
    return 0;
}

int api_produce_main(int argc, char **argv)
{
    const char *bootstrap = NULL, *policy = NULL, *dir = NULL, *queues = NULL, *prefix = "api-";
    size_t count = 0, parts = 0, nimg = 0, failed = 0, total = 0, *fill = NULL;
    long n;
    queue q[MAX_QUEUES];
    image *img = NULL;
    modq_policy *pol = NULL;
    rd_kafka_t *rk = NULL;
    char err[ERR_SIZE] = "";
    struct timespec ts;
    int nq = 0, rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = v == NULL;
        if (!bad && strcmp(k, "--bootstrap") == 0) {
            bootstrap = v;
        } else if (!bad && strcmp(k, "--policy") == 0) {
            policy = v;
        } else if (!bad && strcmp(k, "--images") == 0) {
            dir = v;
        } else if (!bad && strcmp(k, "--queues") == 0) {
            queues = v;
        } else if (!bad && strcmp(k, "--prefix") == 0) {
            bad = strlen(prefix = v) > ID_SIZE / 2;
        } else if (!bad && strcmp(k, "--count") == 0) {
            bad = bench_parse_long(v, 1, MAX_COUNT, &n) || ((count = (size_t)n), 0);
        } else if (!bad && strcmp(k, "--partitions") == 0) {
            bad = bench_parse_long(v, 1, MAX_PARTITIONS, &n) || ((parts = (size_t)n), 0);
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr,
                    "usage: modq-bench-api produce --bootstrap B --policy FILE --images DIR\n"
                    "         --queues Q1,Q2,.. --count N --partitions P [--prefix ID]\n"
                    "(bad or incomplete option '%s')\n",
                    k);
            return 2;
        }
        i++;
    }
    if (!bootstrap || !policy || !dir || !queues || !count || !parts) {
        fputs("modq-bench-api produce: --bootstrap, --policy, --images, --queues, --count and "
              "--partitions are required\n",
              stderr);
        return 2;
    }
    if (modq_policy_load_file(policy, &pol, err, sizeof err) != MODQ_POLICY_OK ||
        (nq = resolve_queues(pol, queues, q, err, sizeof err)) < 0 ||
        read_images(dir, &img, &nimg, err, sizeof err) != 0) {
        goto out;
    }
    if (!(fill = calloc((size_t)nq * parts, sizeof *fill)) ||
        !(rk = producer_new(bootstrap, &failed, err, sizeof err))) {
        if (!fill) {
            snprintf(err, sizeof err, "out of memory");
        }
        goto out;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    for (size_t i = 0; i < count; i++) {
        size_t qi = i % (size_t)nq, part = (i / (size_t)nq) % parts, len = 0;
        if (produce_one(rk, &q[qi], (int32_t)part, prefix, i, &img[i % nimg],
                        (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &len, err,
                        sizeof err) != 0) {
            goto out;
        }
        total += len;
        if ((fill[qi * parts + part] += len) > PARTITION_BYTES) {
            snprintf(err, sizeof err,
                     "%s partition %zu would hold over %u bytes, which the mock broker drops: "
                     "give more partitions",
                     q[qi].topic, part, PARTITION_BYTES);
            goto out;
        }
    }
    if (rd_kafka_flush(rk, FLUSH_MS) != RD_KAFKA_RESP_ERR_NO_ERROR || failed > 0) {
        snprintf(err, sizeof err, "%zu of %zu tickets not confirmed by Kafka",
                 failed + (size_t)rd_kafka_outq_len(rk), count);
        goto out;
    }
    printf("produced %zu tickets (%.1f MB, %zu distinct images) on %d queues x %zu partitions\n",
           count, (double)total / 1e6, nimg < count ? nimg : count, nq, parts);
    rc = 0;
out:
    if (err[0]) {
        fprintf(stderr, "modq-bench-api produce: %s\n", err);
    }
    if (rk) {
        rd_kafka_destroy(rk);
    }
    for (size_t i = 0; img && i < nimg; i++) {
        free(img[i].data);
    }
    free(img);
    free(fill);
    modq_policy_free(pol);
    return rc;
}
