/*
 * config_get.c: read access to a loaded modq_config: typed accessors, the kafka property list
 * for rd_kafka_conf_set, and the effective configuration as JSON with secrets redacted (for
 * --check-config and the startup log line).
 */
#include "config_impl.h"

#include <stdlib.h>
#include <string.h>

/* ---- JSON ---------------------------------------------------------------------------------- */

/* obj[name], created as an empty object when absent. Borrowed reference or NULL. */
static json_t *section_of(json_t *root, const char *name)
{
    json_t *s = json_object_get(root, name);
    if (s == NULL && json_object_set_new(root, name, json_object()) == 0) {
        s = json_object_get(root, name);
    }
    return s;
}

static json_t *banks_json(const modq_config *c)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < c->nbanks; i++) {
        const bank_cfg *b = &c->banks[i];
        json_t *labels = json_array();
        for (size_t j = 0; labels != NULL && j < b->nlabels; j++) {
            json_array_append_new(labels, json_string(b->labels[j]));
        }
        json_t *o = json_pack("{s:s, s:s, s:s, s:o?, s:i}", "name", b->name, "file", b->file,
                              "verdict", config_verdict_name(b->verdict), "labels", labels,
                              "pdq_threshold", b->pdq_threshold);
        if (o == NULL || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

modq_config_result modq_config_to_json(const modq_config *c, json_t **out)
{
    json_t *root = NULL, *kafka = NULL, *files = NULL;
    modq_config_result r = MODQ_CONFIG_ERR_NOMEM;
    char section[SECTION_MAX];
    if (c == NULL || out == NULL) {
        return MODQ_CONFIG_ERR_INVALID_ARG;
    }
    *out = NULL;
    if ((root = json_object()) == NULL) {
        goto out;
    }
    for (size_t i = 0; i < config_key_count(); i++) {
        const key_def *d = config_key_at(i);
        const char *dot = strchr(d->key, '.');
        snprintf(section, sizeof section, "%.*s", (int)(dot - d->key), d->key);
        json_t *s = section_of(root, section);
        if (s == NULL || json_object_set_new(s, dot + 1, config_key_json(c, d)) != 0) {
            goto out;
        }
    }
    if ((kafka = section_of(root, "kafka")) == NULL ||
        (files = section_of(root, "kafka_secret_files")) == NULL) {
        goto out;
    }
    for (size_t i = 0; i < c->nkafka; i++) {
        const kafka_prop *p = &c->kafka[i];
        if (json_object_set_new(kafka, p->name, json_string(p->secret ? REDACTED : p->value)) !=
            0) {
            goto out;
        }
    }
    for (size_t i = 0; i < c->nkfiles; i++) {
        if (json_object_set_new(files, c->kfiles[i].name, json_string(c->kfiles[i].path)) != 0) {
            goto out;
        }
    }
    if (json_object_set_new(root, "banks", banks_json(c)) != 0) {
        goto out;
    }
    *out = root;
    root = NULL;
    r = MODQ_CONFIG_OK;
out:
    json_decref(root);
    return r;
}

/* ---- accessors ----------------------------------------------------------------------------- */

const char *modq_config_worker_id(const modq_config *c)
{
    return c->worker_id;
}
const char *modq_config_worker_policy(const modq_config *c)
{
    return c->worker_policy;
}
int modq_config_worker_grace_seconds(const modq_config *c)
{
    return (int)c->grace_seconds;
}
int modq_config_worker_prepare_threads(const modq_config *c)
{
    return (int)c->prepare_threads;
}
int modq_config_worker_window_per_queue(const modq_config *c)
{
    return (int)c->window_per_queue;
}
bool modq_config_worker_demo(const modq_config *c)
{
    return c->demo;
}

modq_config_role modq_config_worker_role(const modq_config *c)
{
    return (modq_config_role)c->role;
}

const char *modq_config_role_name(modq_config_role role)
{
    switch (role) {
    case MODQ_CONFIG_ROLE_PREPARE:
        return "prepare";
    case MODQ_CONFIG_ROLE_DESK:
        return "desk";
    case MODQ_CONFIG_ROLE_ALL:
        break;
    }
    return "all";
}

size_t modq_config_kafka_count(const modq_config *c)
{
    return c->nkafka;
}
const char *modq_config_kafka_name(const modq_config *c, size_t i)
{
    return i < c->nkafka ? c->kafka[i].name : NULL;
}
const char *modq_config_kafka_value(const modq_config *c, size_t i)
{
    return i < c->nkafka ? c->kafka[i].value : NULL;
}
bool modq_config_kafka_secret(const modq_config *c, size_t i)
{
    return i < c->nkafka && c->kafka[i].secret;
}
const char *modq_config_kafka_get(const modq_config *c, const char *name)
{
    for (size_t i = 0; name != NULL && i < c->nkafka; i++) {
        if (strcmp(c->kafka[i].name, name) == 0) {
            return c->kafka[i].value;
        }
    }
    return NULL;
}

const char *modq_config_consumer_group_id(const modq_config *c)
{
    return c->group_id;
}
const char *modq_config_consumer_group_instance_id(const modq_config *c)
{
    return c->group_instance_id;
}
int modq_config_consumer_metadata_cap_bytes(const modq_config *c)
{
    return (int)c->metadata_cap_bytes;
}

const char *modq_config_consumer_desk_group_id(const modq_config *c)
{
    return c->desk_group_id;
}

const char *modq_config_topics_decisions(const modq_config *c)
{
    return c->topic_decisions;
}
const char *modq_config_topics_wellbeing(const modq_config *c)
{
    return c->topic_wellbeing;
}
const char *modq_config_topics_audit(const modq_config *c)
{
    return c->topic_audit;
}
const char *modq_config_topics_dead_letter(const modq_config *c)
{
    return c->topic_dead_letter;
}
const char *modq_config_topics_ledgers(const modq_config *c)
{
    return c->topic_ledgers;
}

const char *modq_config_topics_review(const modq_config *c)
{
    return c->topic_review;
}

int modq_config_decided_retention_hours(const modq_config *c)
{
    return (int)c->retention_hours;
}
size_t modq_config_decided_max_entries(const modq_config *c)
{
    return (size_t)c->decided_max_entries;
}

int modq_config_decided_near_distance(const modq_config *c)
{
    return (int)c->near_distance;
}
unsigned modq_config_decided_auto_verdicts(const modq_config *c)
{
    return c->auto_verdicts;
}

int64_t modq_config_media_max_input_bytes(const modq_config *c)
{
    return c->max_input_bytes;
}
int64_t modq_config_media_max_pixels(const modq_config *c)
{
    return c->max_pixels;
}
int modq_config_media_max_side(const modq_config *c)
{
    return (int)c->max_side;
}
int modq_config_media_display_size(const modq_config *c)
{
    return (int)c->display_size;
}
modq_rendition_format modq_config_media_format(const modq_config *c)
{
    return c->format == 1 ? MODQ_FORMAT_JPEG : MODQ_FORMAT_WEBP;
}
int modq_config_media_quality(const modq_config *c)
{
    return (int)c->quality;
}

modq_config_result modq_config_media_apply(const modq_config *c, modq_media_opts *opts)
{
    const struct {
        modq_opt key;
        int64_t value;
    } set[] = {
        {MODQ_OPT_MAX_INPUT_BYTES, c->max_input_bytes},
        {MODQ_OPT_MAX_PIXELS, c->max_pixels},
        {MODQ_OPT_MAX_SIDE, c->max_side},
        {MODQ_OPT_DISPLAY_SIZE, c->display_size},
        {MODQ_OPT_FORMAT, (int64_t)modq_config_media_format(c)},
        {MODQ_OPT_QUALITY, c->quality},
        {MODQ_OPT_DEADLINE_MS, c->deadline_ms},
        {MODQ_OPT_MAX_JPEG_SCANS, c->max_jpeg_scans},
    };
    if (opts == NULL) {
        return MODQ_CONFIG_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        /* The ranges in config_keys.c match blur/'s; a refusal here means they drifted apart. */
        if (modq_opts_set(opts, set[i].key, set[i].value) != MODQ_BLUR_OK) {
            return MODQ_CONFIG_ERR_INVALID;
        }
    }
    return MODQ_CONFIG_OK;
}

bool modq_config_sandbox_enabled(const modq_config *c)
{
    return c->sandbox_enabled;
}
const char *modq_config_sandbox_helper(const modq_config *c)
{
    return c->sandbox_helper;
}
int64_t modq_config_sandbox_memory_bytes(const modq_config *c)
{
    return c->sandbox_memory_mb << 20;
}
int modq_config_sandbox_timeout_ms(const modq_config *c)
{
    return (int)c->sandbox_timeout_ms;
}
int modq_config_sandbox_cpu_seconds(const modq_config *c)
{
    return (int)c->sandbox_cpu_seconds;
}
int modq_config_sandbox_max_items(const modq_config *c)
{
    return (int)c->sandbox_max_items;
}

const char *modq_config_fetch_file_root(const modq_config *c)
{
    return c->file_root;
}
size_t modq_config_fetch_allowed_host_count(const modq_config *c)
{
    return c->allowed_hosts.n;
}
const char *modq_config_fetch_allowed_host(const modq_config *c, size_t i)
{
    return i < c->allowed_hosts.n ? c->allowed_hosts.item[i] : NULL;
}
int64_t modq_config_fetch_max_bytes(const modq_config *c)
{
    return c->fetch_max_bytes;
}
int modq_config_fetch_timeout_ms(const modq_config *c)
{
    return (int)c->fetch_timeout_ms;
}

size_t modq_config_bank_count(const modq_config *c)
{
    return c->nbanks;
}
const char *modq_config_bank_name(const modq_config *c, size_t i)
{
    return i < c->nbanks ? c->banks[i].name : NULL;
}
const char *modq_config_bank_file(const modq_config *c, size_t i)
{
    return i < c->nbanks ? c->banks[i].file : NULL;
}
int modq_config_bank_verdict(const modq_config *c, size_t i)
{
    return i < c->nbanks ? c->banks[i].verdict : -1;
}
int modq_config_bank_pdq_threshold(const modq_config *c, size_t i)
{
    return i < c->nbanks ? c->banks[i].pdq_threshold : -1;
}
size_t modq_config_bank_label_count(const modq_config *c, size_t i)
{
    return i < c->nbanks ? c->banks[i].nlabels : 0;
}
const char *modq_config_bank_label(const modq_config *c, size_t i, size_t j)
{
    return i < c->nbanks && j < c->banks[i].nlabels ? c->banks[i].labels[j] : NULL;
}

const char *modq_config_http_listen(const modq_config *c)
{
    return c->http_listen.text;
}
const char *modq_config_http_host(const modq_config *c)
{
    return c->http_listen.host;
}
int modq_config_http_port(const modq_config *c)
{
    return c->http_listen.port;
}
const char *modq_config_http_probe_listen(const modq_config *c)
{
    return c->probe_listen.text;
}
const char *modq_config_http_probe_host(const modq_config *c)
{
    return c->probe_listen.host;
}
int modq_config_http_probe_port(const modq_config *c)
{
    return c->probe_listen.port;
}
int modq_config_http_max_connections(const modq_config *c)
{
    return (int)c->max_connections;
}
int modq_config_http_per_ip_connections(const modq_config *c)
{
    return (int)c->per_ip_connections;
}
int modq_config_http_request_timeout_seconds(const modq_config *c)
{
    return (int)c->request_timeout_seconds;
}
int modq_config_http_lease_seconds(const modq_config *c)
{
    return (int)c->lease_seconds;
}
int modq_config_http_threads(const modq_config *c)
{
    return (int)c->http_threads;
}
double modq_config_http_qa_sample_rate(const modq_config *c)
{
    return c->qa_sample_rate;
}
const char *modq_config_http_static_dir(const modq_config *c)
{
    return c->static_dir;
}

const char *modq_config_jwt_hs256_secret_file(const modq_config *c)
{
    return c->jwt_secret_file;
}
const unsigned char *modq_config_jwt_hs256_secret(const modq_config *c, size_t *len)
{
    if (len != NULL) {
        *len = c->jwt_secret_len;
    }
    return c->jwt_secret;
}
const char *modq_config_jwt_public_key_file(const modq_config *c)
{
    return c->jwt_public_key_file;
}
const char *modq_config_jwt_jwks_file(const modq_config *c)
{
    return c->jwt_jwks_file;
}
const char *modq_config_jwt_issuer(const modq_config *c)
{
    return c->jwt_issuer;
}
const char *modq_config_jwt_audience(const modq_config *c)
{
    return c->jwt_audience;
}
unsigned modq_config_jwt_algorithms(const modq_config *c)
{
    return c->jwt_algorithms;
}
bool modq_config_jwt_configured(const modq_config *c)
{
    return c->jwt_secret_file[0] != '\0' || c->jwt_public_key_file[0] != '\0' ||
           c->jwt_jwks_file[0] != '\0';
}

modq_log_level modq_config_log_level(const modq_config *c)
{
    return (modq_log_level)c->log_level;
}
