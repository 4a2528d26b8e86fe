/*
 * demo.c: the embedded default (demo.h): an in-process mock Kafka cluster, the demo's files and
 * configuration, and a thread publishing synthetic tickets.
 */
#include "demo.h"

#include "auth/jwt.h"
#include "mock.h"
#include "modq_blur.h"
#include "proto/modq.pb-c.h"
#include "modq_common.h"

#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PATH_SIZE    512
#define CONFIG_SIZE  4096
#define KNOWN_IMAGES 4 /* synthetic images listed in the demo bank */
#define IMAGE_W      800
#define IMAGE_H      600
#define ISSUER       "modq-demo"
#define AUDIENCE     "modq"
#define SECRET_BYTES 32

struct modq_demo {
    char dir[PATH_SIZE - 32]; /* room for the file names below */
    char secret_path[PATH_SIZE];
    char bank_path[PATH_SIZE];
    unsigned char secret[SECRET_BYTES * 2]; /* hex: what the secret file holds */
    modq_mock *mock;
    modq_config *cfg;
    const modq_policy *policy;
    rd_kafka_t *producer;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
};

const char *modq_demo_strerror(modq_demo_result r)
{
    switch (r) {
    case MODQ_DEMO_OK:
        return "success";
    case MODQ_DEMO_ERR_INVALID_ARG:
        return "invalid argument";
    case MODQ_DEMO_ERR_NOMEM:
        return "out of memory";
    case MODQ_DEMO_ERR_SETUP:
        return "the demo could not be set up";
    case MODQ_DEMO_RESULT_COUNT:
        break;
    }
    return "unknown result";
}

/* Writes len bytes to path, created 0600. 0, or -1. */
static int write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const char *p = data;
    if (fd < 0) {
        return -1;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return close(fd);
}

/* A known image of the demo bank: i in 0..KNOWN_IMAGES-1. Caller frees with modq_synth_free. */
static int known_image(int i, uint8_t **data, size_t *len)
{
    return modq_synth_image(MODQ_SYNTH_CHECKER, IMAGE_W, IMAGE_H, 1000u + (uint32_t)i, "png", data,
                            len) == MODQ_BLUR_OK
               ? 0
               : -1;
}

/* The bank file: the SHA-256 of every known image. */
static int write_bank(modq_demo *d)
{
    char text[KNOWN_IMAGES * 100 + 64];
    size_t used = (size_t)snprintf(text, sizeof text, "# modq demo bank: synthetic images\n");

    for (int i = 0; i < KNOWN_IMAGES; i++) {
        uint8_t *img = NULL, sha[MODQ_SHA256_LEN], md5[16];
        size_t len = 0;
        char hex[2 * MODQ_SHA256_LEN + 1];
        if (known_image(i, &img, &len) != 0 || modq_digest_compute(img, len, sha, md5) != 0) {
            modq_synth_free(img);
            return -1;
        }
        modq_synth_free(img);
        modq_digest_hex(sha, sizeof sha, hex);
        used += (size_t)snprintf(text + used, sizeof text - used, "sha256 %s demo-%d\n", hex, i);
    }
    return write_file(d->bank_path, text, used);
}

static int write_secret(modq_demo *d)
{
    unsigned char raw[SECRET_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        return -1;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        snprintf((char *)d->secret + 2 * i, 3, "%02x", raw[i]);
    }
    return write_file(d->secret_path, d->secret, sizeof d->secret);
}

modq_demo_result modq_demo_new(const char *const *envp, modq_demo **out, char *errstr,
                               size_t errstr_size)
{
    char cfgtext[CONFIG_SIZE], err[512] = "";
    modq_demo_result rc = MODQ_DEMO_ERR_SETUP;
    modq_demo *d;
    int n;

    if (out == NULL || errstr == NULL || errstr_size == 0) {
        return MODQ_DEMO_ERR_INVALID_ARG;
    }
    *out = NULL;
    d = calloc(1, sizeof *d);
    if (d == NULL) {
        return MODQ_DEMO_ERR_NOMEM;
    }
    const char *tmp = getenv("TMPDIR");
    int dn = snprintf(d->dir, sizeof d->dir, "%s/modq-demo-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (dn < 0 || (size_t)dn >= sizeof d->dir || mkdtemp(d->dir) == NULL) {
        snprintf(errstr, errstr_size, "demo: cannot make a temporary directory: %s",
                 strerror(errno));
        d->dir[0] = '\0';
        goto out;
    }
    snprintf(d->secret_path, sizeof d->secret_path, "%s/jwt-secret", d->dir);
    snprintf(d->bank_path, sizeof d->bank_path, "%s/demo-bank.txt", d->dir);
    if (write_secret(d) != 0 || write_bank(d) != 0) {
        snprintf(errstr, errstr_size, "demo: cannot write the demo's files in %s", d->dir);
        goto out;
    }
    if (modq_mock_new(3, NULL, &d->mock, err, sizeof err) != MODQ_MOCK_OK) {
        snprintf(errstr, errstr_size, "demo: mock cluster: %s", err);
        goto out;
    }
    /* The demo's own settings; MODQ_* variables from envp still override them. */
    n = snprintf(cfgtext, sizeof cfgtext,
                 "worker:\n  id: modq-demo\n  demo: true\n  grace_seconds: 5\n"
                 "kafka:\n  bootstrap.servers: \"%s\"\n"
                 "jwt:\n  hs256_secret_file: \"%s\"\n  issuer: %s\n  audience: %s\n"
                 "  algorithms: [HS256]\n"
                 "banks:\n  - name: demo-known\n    file: \"%s\"\n    verdict: remove\n"
                 "    labels: [demo]\n",
                 modq_mock_bootstrap(d->mock), d->secret_path, ISSUER, AUDIENCE, d->bank_path);
    if (n < 0 || (size_t)n >= sizeof cfgtext) {
        snprintf(errstr, errstr_size, "demo: configuration too long");
        goto out;
    }
    if (modq_config_load_buffer(cfgtext, (size_t)n, "demo", envp, &d->cfg, err, sizeof err) !=
        MODQ_CONFIG_OK) {
        snprintf(errstr, errstr_size, "demo: %s", err);
        goto out;
    }
    *out = d;
    d = NULL;
    rc = MODQ_DEMO_OK;
out:
    modq_demo_free(d);
    return rc;
}

const modq_config *modq_demo_config(const modq_demo *d)
{
    return d ? d->cfg : NULL;
}

const char *modq_demo_secret_file(const modq_demo *d)
{
    return d ? d->secret_path : NULL;
}

const char *modq_demo_bootstrap(const modq_demo *d)
{
    return d ? modq_mock_bootstrap(d->mock) : NULL;
}

/* ---- Tickets ------------------------------------------------------------------------------ */

/* Ticket number i for policy queue qi: packed into *buf (malloc'd, caller frees). */
static int make_ticket(const modq_policy *p, size_t qi, unsigned i, uint8_t **buf, size_t *len)
{
    Modq__V1__Ticket t;
    Modq__V1__Media m;
    char id[64], content[64], text[160], trace[40];
    uint8_t *img = NULL;
    size_t img_len = 0;
    int rc = -1;

    modq__v1__ticket__init(&t);
    modq__v1__media__init(&m);
    snprintf(id, sizeof id, "demo-%lld-%u", (long long)(modq_clock_wall_ms() / 1000), i);
    snprintf(content, sizeof content, "demo-content-%u", i);
    snprintf(trace, sizeof trace, "demo-trace-%u", i);
    snprintf(text, sizeof text,
             "Demo ticket %u: synthetic shapes and noise generated by modq, not real content.", i);
    /* Every 5th ticket shows a known image (the bank decides it), every 7th is noise. */
    if (i % 5 == 4) {
        rc = known_image((int)(i / 5 % KNOWN_IMAGES), &img, &img_len);
    } else {
        modq_synth_kind k = i % 7 == 3 ? MODQ_SYNTH_NOISE : MODQ_SYNTH_SHAPES;
        rc = modq_synth_image(k, IMAGE_W, IMAGE_H, i + 1, "jpeg", &img, &img_len) == MODQ_BLUR_OK
                 ? 0
                 : -1;
    }
    if (rc != 0) {
        return -1;
    }
    m.source_case = MODQ__V1__MEDIA__SOURCE_INLINE_BYTES;
    m.inline_bytes.data = img;
    m.inline_bytes.len = img_len;
    m.claimed_mime_type = MODQ_UNCONST(i % 5 == 4 ? "image/png" : "image/jpeg");
    t.ticket_id = id;
    t.content_id = content;
    t.queue = MODQ_UNCONST(modq_policy_queue_name(p, qi));
    t.category = MODQ_UNCONST(modq_policy_queue_category(p, qi));
    t.created_at_ms = modq_clock_wall_ms();
    t.priority = (int32_t)(i % 4);
    t.locale = MODQ_UNCONST("en");
    t.reporter_reason = MODQ_UNCONST("demo: flagged by the synthetic ticket generator");
    t.text = text;
    t.trace_id = trace;
    t.source = MODQ_UNCONST("modq-demo");
    t.media = &m;
    *len = modq__v1__ticket__get_packed_size(&t);
    *buf = malloc(*len);
    if (*buf == NULL) {
        rc = -1;
    } else {
        modq__v1__ticket__pack(&t, *buf);
        rc = 0;
    }
    modq_synth_free(img);
    return rc;
}

/* Publishes ticket i: a malformed one every 23rd (it goes to the dead-letter topic). */
static void publish_one(modq_demo *d, unsigned i)
{
    size_t nq = modq_policy_queue_count(d->policy);
    size_t qi = i % nq;
    uint8_t *buf = NULL;
    size_t len = 0;
    static const char garbage[] = "\xff\xfe demo: this is not a protobuf ticket";

    if (i % 23 == 22) {
        rd_kafka_producev(d->producer, RD_KAFKA_V_TOPIC(modq_policy_queue_topic(d->policy, qi)),
                          RD_KAFKA_V_VALUE((void *)(uintptr_t)garbage, sizeof garbage - 1),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        return;
    }
    if (make_ticket(d->policy, qi, i, &buf, &len) != 0) {
        return;
    }
    char key[32];
    snprintf(key, sizeof key, "demo-content-%u", i);
    rd_kafka_producev(d->producer, RD_KAFKA_V_TOPIC(modq_policy_queue_topic(d->policy, qi)),
                      RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(buf, len),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_END);
    /* On success librdkafka owns buf (F_FREE); on failure it is still ours. */
    if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR_NO_ERROR) {
        free(buf);
    }
}

static void *producer_thread(void *arg)
{
    modq_demo *d = arg;
    unsigned i = 0;
    int64_t next = 0;

    while (!atomic_load(&d->stop) && i < MODQ_DEMO_MAX_TICKETS) {
        int64_t now = modq_clock_wall_ms();
        if (i < MODQ_DEMO_BURST || now >= next) {
            publish_one(d, i++);
            if (i >= MODQ_DEMO_BURST) {
                next = now + MODQ_DEMO_PERIOD_MS;
            }
        }
        rd_kafka_poll(d->producer, i < MODQ_DEMO_BURST ? 0 : 100);
    }
    rd_kafka_flush(d->producer, 2000);
    return NULL;
}

modq_demo_result modq_demo_start(modq_demo *d, const modq_policy *policy, char *errstr,
                                 size_t errstr_size)
{
    char err[512] = "";
    rd_kafka_conf_t *conf;

    if (d == NULL || policy == NULL || errstr == NULL || d->thread_started) {
        return MODQ_DEMO_ERR_INVALID_ARG;
    }
    d->policy = policy;
    for (size_t q = 0; q < modq_policy_queue_count(policy); q++) {
        (void)modq_mock_topic_create(d->mock, modq_policy_queue_topic(policy, q), 4, 3, err,
                                     sizeof err); /* a topic two queues share exists already */
    }
    const char *outputs[] = {modq_config_topics_decisions(d->cfg),
                             modq_config_topics_wellbeing(d->cfg), modq_config_topics_audit(d->cfg),
                             modq_config_topics_dead_letter(d->cfg),
                             modq_config_topics_ledgers(d->cfg)};
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        (void)modq_mock_topic_create(d->mock, outputs[i], 4, 3, err, sizeof err);
    }
    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", modq_mock_bootstrap(d->mock), err,
                          sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) !=
            RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        snprintf(errstr, errstr_size, "demo producer: %s", err);
        return MODQ_DEMO_ERR_SETUP;
    }
    d->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (d->producer == NULL) {
        rd_kafka_conf_destroy(conf);
        snprintf(errstr, errstr_size, "demo producer: %s", err);
        return MODQ_DEMO_ERR_SETUP;
    }
    if (pthread_create(&d->thread, NULL, producer_thread, d) != 0) {
        snprintf(errstr, errstr_size, "demo producer: no thread");
        return MODQ_DEMO_ERR_SETUP;
    }
    d->thread_started = true;
    return MODQ_DEMO_OK;
}

char *modq_demo_token(const modq_demo *d, const char *role)
{
    static const char *const skills[] = {"extremism", "csam_trained"};
    static const char *const locales[] = {"en", "ar"};
    bool lead = role != NULL && strcmp(role, "lead") == 0;
    const char *roles[] = {lead ? "lead" : "associate"};
    char *tok = NULL;
    modq_jwt_mint_opts o = {
        .sub = lead ? "lead-1" : "associate-1",
        .team = "demo",
        .roles = roles,
        .nroles = 1,
        .skills = skills,
        .nskills = 2,
        .locales = locales,
        .nlocales = 2,
        .issuer = ISSUER,
        .audience = AUDIENCE,
        .now_s = modq_clock_wall_ms() / 1000,
        .ttl_s = MODQ_DEMO_TOKEN_TTL_S,
    };
    if (d == NULL ||
        modq_jwt_mint_hs256(d->secret, sizeof d->secret, &o, &tok, NULL, 0) != MODQ_JWT_OK) {
        return NULL;
    }
    return tok;
}

void modq_demo_free(modq_demo *d)
{
    if (d == NULL) {
        return;
    }
    atomic_store(&d->stop, true);
    if (d->thread_started) {
        pthread_join(d->thread, NULL);
    }
    if (d->producer != NULL) {
        rd_kafka_destroy(d->producer);
    }
    modq_config_free(d->cfg);
    modq_mock_free(d->mock);
    if (d->secret_path[0] != '\0') {
        unlink(d->secret_path);
    }
    if (d->bank_path[0] != '\0') {
        unlink(d->bank_path);
    }
    if (d->dir[0] != '\0') {
        rmdir(d->dir);
    }
    OPENSSL_cleanse(d->secret, sizeof d->secret);
    free(d);
}
