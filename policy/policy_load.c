/*
 * policy_load.c: reads a YAML policy with libyaml and validates every field.
 *
 * The whole document is loaded as a node tree first (libyaml keeps each node's line), then walked
 * against a fixed schema. Unknown and duplicate keys are errors: a typo in a wellbeing limit must
 * not silently fall back to a default. The first error wins and names FILE:LINE and the field.
 * Reading the file and parsing the YAML stream live in policy_file.c.
 */
#include "policy_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct load_ctx {
    yaml_document_t *doc;
    const char *name; /* FILE in messages */
    char *errstr;
    size_t errstr_size;
} load_ctx;

/* Formats "FILE:LINE: field 'F': message" into the caller's buffer; returns ERR_INVALID. */
__attribute__((format(printf, 4, 5))) static modq_policy_result
fail(const load_ctx *c, const yaml_node_t *node, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->errstr != NULL && c->errstr_size > 0) {
        unsigned long line = node == NULL ? 1 : (unsigned long)node->start_mark.line + 1;
        snprintf(c->errstr, c->errstr_size, "%s:%lu: field '%s': %s", c->name, line, field, msg);
    }
    return MODQ_POLICY_ERR_INVALID;
}

/* Up to 40 bytes of s for a one-line message: control characters (a newline in a quoted scalar)
 * become '?', so that every error stays on one line. */
static const char *printable(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    for (; s != NULL && s[n] != '\0' && n < 40 && n + 1 < size; n++) {
        unsigned char ch = (unsigned char)s[n];
        buf[n] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    buf[n] = '\0';
    return buf;
}

static const char *scalar(const yaml_node_t *n)
{
    return (n != NULL && n->type == YAML_SCALAR_NODE) ? (const char *)n->data.scalar.value : NULL;
}

static modq_policy_result get_number(const load_ctx *c, const yaml_node_t *n, const char *field,
                                     double lo, double hi, double *out)
{
    const char *s = scalar(n);
    char *end = NULL;
    if (s == NULL || *s == '\0') {
        return fail(c, n, field, "must be a number");
    }
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v)) {
        char shown[48];
        return fail(c, n, field, "must be a number, not '%s'", printable(s, shown, sizeof shown));
    }
    if (v < lo || v > hi) {
        return fail(c, n, field, "must be between %g and %g, not %g", lo, hi, v);
    }
    *out = v;
    return MODQ_POLICY_OK;
}

/* A number of minutes in [0, hi] (in (0, hi] when positive) as whole milliseconds. */
static modq_policy_result get_minutes(const load_ctx *c, const yaml_node_t *n, const char *field,
                                      bool positive, double hi, int64_t *out)
{
    double v = 0;
    modq_policy_result r = get_number(c, n, field, 0.0, hi, &v);
    if (r != MODQ_POLICY_OK) {
        return r;
    }
    if (positive && v <= 0.0) {
        return fail(c, n, field, "must be a positive number");
    }
    *out = (int64_t)llround(v * (double)MS_PER_MIN);
    /* 0 ms means "none" for caps: a positive value that rounds to it would remove the cap. */
    if (positive && *out <= 0) {
        return fail(c, n, field, "must be a positive number of at least 1 ms, not %g", v);
    }
    return MODQ_POLICY_OK;
}

static modq_policy_result get_int(const load_ctx *c, const yaml_node_t *n, const char *field,
                                  long lo, long hi, int *out)
{
    const char *s = scalar(n);
    int64_t v = 0;
    if (s == NULL || *s == '\0') {
        return fail(c, n, field, "must be an integer");
    }
    if (!modq_parse_int64(s, INT64_MIN, INT64_MAX, &v)) {
        char shown[48];
        return fail(c, n, field, "must be an integer, not '%s'", printable(s, shown, sizeof shown));
    }
    if (v < lo || v > hi) {
        return fail(c, n, field, "must be between %ld and %ld, not %" PRId64, lo, hi, v);
    }
    *out = (int)v;
    return MODQ_POLICY_OK;
}

static modq_policy_result get_bool(const load_ctx *c, const yaml_node_t *n, const char *field,
                                   bool *out)
{
    const char *s = scalar(n);
    if (s != NULL && strcmp(s, "true") == 0) {
        *out = true;
        return MODQ_POLICY_OK;
    }
    if (s != NULL && strcmp(s, "false") == 0) {
        *out = false;
        return MODQ_POLICY_OK;
    }
    return fail(c, n, field, "must be true or false");
}

/* charset: "name" = [a-z0-9_-], "topic" = [A-Za-z0-9._-], "skill" = [A-Za-z0-9_-] */
static bool name_ok(const char *s, const char *extra, bool upper)
{
    for (const char *q = s; *q != '\0'; q++) {
        char ch = *q;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                  (upper && ch >= 'A' && ch <= 'Z') || strchr(extra, ch) != NULL;
        if (!ok) {
            return false;
        }
    }
    return true;
}

static modq_policy_result get_name(const load_ctx *c, const yaml_node_t *n, const char *field,
                                   char *dst, size_t size, const char *extra, bool upper)
{
    const char *s = scalar(n);
    if (s == NULL || *s == '\0') {
        return fail(c, n, field, "must be a non-empty string");
    }
    if (!name_ok(s, extra, upper)) {
        char shown[48];
        return fail(c, n, field, "'%s' has a character outside [%s%s%s]",
                    printable(s, shown, sizeof shown), "a-z0-9", upper ? "A-Z" : "", extra);
    }
    if (!policy_copy_name(dst, size, s)) {
        return fail(c, n, field, "longer than %zu characters", size - 1);
    }
    return MODQ_POLICY_OK;
}

/*
 * Walks a mapping against a list of keys: found[i] receives key i's value node. Unknown and
 * duplicate keys are errors; required keys (req bit i) must be present.
 */
static modq_policy_result walk_map(const load_ctx *c, yaml_node_t *map, const char *path,
                                   const char *const *keys, size_t nkeys, unsigned required,
                                   yaml_node_t **found)
{
    char field[128], shown[48];
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        return fail(c, map, path[0] ? path : "(top level)", "must be a mapping");
    }
    for (size_t i = 0; i < nkeys; i++) {
        found[i] = NULL;
    }
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
        const char *ks = scalar(k);
        size_t i = 0;
        while (ks != NULL && i < nkeys && strcmp(ks, keys[i]) != 0) {
            i++;
        }
        snprintf(field, sizeof field, "%s%s%s", path, path[0] ? "." : "",
                 ks ? printable(ks, shown, sizeof shown) : "?");
        if (ks == NULL || i == nkeys) {
            return fail(c, k, field, "unknown field");
        }
        if (found[i] != NULL) {
            return fail(c, k, field, "given twice");
        }
        found[i] = yaml_document_get_node(c->doc, pr->value);
    }
    for (size_t i = 0; i < nkeys; i++) {
        if ((required & (1u << i)) && found[i] == NULL) {
            snprintf(field, sizeof field, "%s%s%s", path, path[0] ? "." : "", keys[i]);
            return fail(c, map, field, "is required");
        }
    }
    return MODQ_POLICY_OK;
}

static size_t seq_len(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *seq_at(const load_ctx *c, const yaml_node_t *n, size_t i)
{
    return yaml_document_get_node(c->doc, n->data.sequence.items.start[i]);
}

static modq_policy_result load_exposure(const load_ctx *c, yaml_node_t *n, modq_policy *p)
{
    static const char *const keys[] = {"reveal_weights", "colour_factor"};
    yaml_node_t *v[2];
    modq_policy_result r = walk_map(c, n, "exposure", keys, 2, 0x3, v);
    if (r != MODQ_POLICY_OK) {
        return r;
    }
    if (v[0]->type != YAML_SEQUENCE_NODE || seq_len(v[0]) != MODQ_POLICY_LEVELS) {
        return fail(c, v[0], "exposure.reveal_weights",
                    "must be a list of %d weights, level 0 (clear) first", MODQ_POLICY_LEVELS);
    }
    for (int i = 0; i < MODQ_POLICY_LEVELS; i++) {
        char field[64];
        snprintf(field, sizeof field, "exposure.reveal_weights[%d]", i);
        r = get_number(c, seq_at(c, v[0], (size_t)i), field, 0.0, 1.0, &p->level_weight[i]);
        if (r != MODQ_POLICY_OK) {
            return r;
        }
        if (i > 0 && p->level_weight[i] > p->level_weight[i - 1]) {
            return fail(c, seq_at(c, v[0], (size_t)i), field,
                        "a heavier blur must not weigh more than a lighter one");
        }
        if (p->level_weight[i] <= 0.0) {
            return fail(c, seq_at(c, v[0], (size_t)i), field,
                        i == 0 ? "a clear view must weigh more than 0"
                               : "must be more than 0: a blurred view is still seen");
        }
    }
    return get_number(c, v[1], "exposure.colour_factor", 1.0, 10.0, &p->colour_factor);
}

static modq_policy_result load_tier(const load_ctx *c, yaml_node_t *n, size_t idx, modq_policy *p,
                                    bool seen[])
{
    static const char *const keys[] = {"tier",
                                       "weight",
                                       "default_level",
                                       "max_reveal_level",
                                       "colour",
                                       "full_reveal_needs_reason",
                                       "cooldown_minutes",
                                       "daily_cap_minutes"};
    yaml_node_t *v[8];
    char path[32], field[96];
    int tier = 0;
    snprintf(path, sizeof path, "tiers[%zu]", idx);
    modq_policy_result r = walk_map(c, n, path, keys, 8, 0x7f, v);
    if (r != MODQ_POLICY_OK) {
        return r;
    }
#define FIELD(k) (snprintf(field, sizeof field, "%s.%s", path, k), field)
    if ((r = get_int(c, v[0], FIELD("tier"), 1, MODQ_POLICY_TIERS, &tier)) != MODQ_POLICY_OK) {
        return r;
    }
    if (seen[tier]) {
        return fail(c, v[0], field, "tier %d is defined twice", tier);
    }
    seen[tier] = true;
    tier_cfg *t = &p->tiers[tier];
    if ((r = get_number(c, v[1], FIELD("weight"), 0.0, 10.0, &t->weight)) != MODQ_POLICY_OK) {
        return r;
    }
    if (t->weight <= 0.0) {
        return fail(c, v[1], field, "must be more than 0: every tier's content is exposure");
    }
    if ((r = get_int(c, v[2], FIELD("default_level"), 0, MODQ_POLICY_LEVELS - 1,
                     &t->default_level)) != MODQ_POLICY_OK ||
        (r = get_int(c, v[3], FIELD("max_reveal_level"), 0, MODQ_POLICY_LEVELS - 1,
                     &t->max_reveal)) != MODQ_POLICY_OK ||
        (r = get_bool(c, v[4], FIELD("colour"), &t->colour)) != MODQ_POLICY_OK ||
        (r = get_bool(c, v[5], FIELD("full_reveal_needs_reason"), &t->reason_required)) !=
            MODQ_POLICY_OK ||
        (r = get_minutes(c, v[6], FIELD("cooldown_minutes"), false, 60.0, &t->cooldown_ms)) !=
            MODQ_POLICY_OK) {
        return r;
    }
    if (t->default_level < t->max_reveal) {
        return fail(c, v[2], FIELD("default_level"),
                    "must not be below max_reveal_level (%d): items would start more revealed "
                    "than a reveal may go",
                    t->max_reveal);
    }
    t->daily_cap_ms = 0;
    if (v[7] != NULL) {
        r = get_minutes(c, v[7], FIELD("daily_cap_minutes"), true, 1440.0, &t->daily_cap_ms);
    }
#undef FIELD
    return r;
}

static modq_policy_result load_tiers(const load_ctx *c, yaml_node_t *n, modq_policy *p)
{
    bool seen[MODQ_POLICY_TIERS + 1] = {false};
    if (n->type != YAML_SEQUENCE_NODE || seq_len(n) != MODQ_POLICY_TIERS) {
        return fail(c, n, "tiers", "must be a list of exactly %d tiers", MODQ_POLICY_TIERS);
    }
    for (size_t i = 0; i < MODQ_POLICY_TIERS; i++) {
        modq_policy_result r = load_tier(c, seq_at(c, n, i), i, p, seen);
        if (r != MODQ_POLICY_OK) {
            return r;
        }
    }
    for (int t = 2; t <= MODQ_POLICY_TIERS; t++) {
        if (p->tiers[t].weight < p->tiers[t - 1].weight) {
            return fail(c, n, "tiers",
                        "tier %d weighs less than tier %d; severity must not "
                        "lower the weight",
                        t, t - 1);
        }
    }
    return MODQ_POLICY_OK;
}

static modq_policy_result load_string_list(const load_ctx *c, yaml_node_t *n, const char *path,
                                           char (*dst)[MODQ_POLICY_NAME_MAX], size_t *count)
{
    char field[128];
    if (n->type != YAML_SEQUENCE_NODE) {
        return fail(c, n, path, "must be a list");
    }
    if (seq_len(n) > MODQ_POLICY_MAX_SKILLS) {
        return fail(c, n, path, "at most %d entries", MODQ_POLICY_MAX_SKILLS);
    }
    *count = seq_len(n);
    for (size_t i = 0; i < *count; i++) {
        snprintf(field, sizeof field, "%s[%zu]", path, i);
        modq_policy_result r =
            get_name(c, seq_at(c, n, i), field, dst[i], MODQ_POLICY_NAME_MAX, "_-", true);
        if (r != MODQ_POLICY_OK) {
            return r;
        }
    }
    return MODQ_POLICY_OK;
}

static modq_policy_result load_queue(const load_ctx *c, yaml_node_t *n, size_t idx, modq_policy *p)
{
    static const char *const keys[] = {"name", "topic", "category", "tier", "roles", "skills"};
    yaml_node_t *v[6];
    char path[32], field[96];
    char roles[MODQ_POLICY_MAX_SKILLS][MODQ_POLICY_NAME_MAX];
    size_t nroles = 0;
    queue_cfg *q = &p->queues[idx];
    snprintf(path, sizeof path, "queues[%zu]", idx);
    modq_policy_result r = walk_map(c, n, path, keys, 6, 0x1f, v);
    if (r != MODQ_POLICY_OK) {
        return r;
    }
#define FIELD(k) (snprintf(field, sizeof field, "%s.%s", path, k), field)
    if ((r = get_name(c, v[0], FIELD("name"), q->name, sizeof q->name, "_-", false)) !=
            MODQ_POLICY_OK ||
        (r = get_name(c, v[1], FIELD("topic"), q->topic, sizeof q->topic, "._-", true)) !=
            MODQ_POLICY_OK ||
        (r = get_name(c, v[2], FIELD("category"), q->category, sizeof q->category, "_", false)) !=
            MODQ_POLICY_OK ||
        (r = get_int(c, v[3], FIELD("tier"), 1, MODQ_POLICY_TIERS, &q->tier)) != MODQ_POLICY_OK ||
        (r = load_string_list(c, v[4], FIELD("roles"), roles, &nroles)) != MODQ_POLICY_OK) {
        return r;
    }
    if (nroles == 0) {
        return fail(c, v[4], FIELD("roles"), "must name at least one role");
    }
    for (size_t i = 0; i < nroles; i++) {
        unsigned bit = modq_policy_role_parse(roles[i]);
        if (bit == 0) {
            snprintf(field, sizeof field, "%s.roles[%zu]", path, i);
            return fail(c, seq_at(c, v[4], i), field, "unknown role '%s' (associate, lead or qa)",
                        roles[i]);
        }
        q->roles |= bit;
    }
    if (v[5] != NULL && (r = load_string_list(c, v[5], FIELD("skills"), q->skills, &q->nskills)) !=
                            MODQ_POLICY_OK) {
        return r;
    }
    for (size_t j = 0; j < idx; j++) {
        if (strcmp(p->queues[j].name, q->name) == 0) {
            return fail(c, v[0], FIELD("name"), "'%s' is already used by queues[%zu]", q->name, j);
        }
        if (strcmp(p->queues[j].topic, q->topic) == 0) {
            return fail(c, v[1], FIELD("topic"), "'%s' is already used by queues[%zu]", q->topic,
                        j);
        }
    }
#undef FIELD
    return MODQ_POLICY_OK;
}

/* Every category must fit in a ledger's category table, or items of the last ones could never be
 * recorded and would be refused with LEDGER_FULL forever. */
static modq_policy_result check_category_count(const load_ctx *c, yaml_node_t *n,
                                               const modq_policy *p)
{
    size_t distinct = 0;
    for (size_t i = 0; i < p->nqueues; i++) {
        size_t j = 0;
        while (j < i && strcmp(p->queues[j].category, p->queues[i].category) != 0) {
            j++;
        }
        if (j == i && ++distinct > MODQ_LEDGER_MAX_CATEGORIES) {
            return fail(c, n, "queues", "more than %d distinct categories",
                        MODQ_LEDGER_MAX_CATEGORIES);
        }
    }
    return MODQ_POLICY_OK;
}

static modq_policy_result load_queues(const load_ctx *c, yaml_node_t *n, modq_policy *p)
{
    if (n->type != YAML_SEQUENCE_NODE || seq_len(n) == 0) {
        return fail(c, n, "queues", "must be a non-empty list");
    }
    if (seq_len(n) > MODQ_POLICY_MAX_QUEUES) {
        return fail(c, n, "queues", "at most %d queues", MODQ_POLICY_MAX_QUEUES);
    }
    p->queues = calloc(seq_len(n), sizeof *p->queues);
    if (p->queues == NULL) {
        return MODQ_POLICY_ERR_NOMEM;
    }
    p->nqueues = seq_len(n);
    for (size_t i = 0; i < p->nqueues; i++) {
        modq_policy_result r = load_queue(c, seq_at(c, n, i), i, p);
        if (r != MODQ_POLICY_OK) {
            return r;
        }
    }
    return check_category_count(c, n, p);
}

static modq_policy_result load_limits(const load_ctx *c, yaml_node_t *n, modq_policy *p)
{
    static const char *const keys[] = {
        "daily_cap_minutes",         "max_continuous_minutes",         "break_minutes",
        "cooldown_blocks_from_tier", "rotation_max_consecutive",       "shift_max_minutes",
        "warning_threshold",         "min_rest_between_shifts_minutes"};
    yaml_node_t *v[8];
    modq_policy_result r = walk_map(c, n, "limits", keys, 8, 0x7f, v);
    if (r != MODQ_POLICY_OK) {
        return r;
    }
    if ((r = get_minutes(c, v[0], "limits.daily_cap_minutes", true, 1440.0, &p->daily_cap_ms)) !=
            MODQ_POLICY_OK ||
        (r = get_minutes(c, v[1], "limits.max_continuous_minutes", true, 1440.0,
                         &p->max_continuous_ms)) != MODQ_POLICY_OK ||
        (r = get_minutes(c, v[2], "limits.break_minutes", true, 240.0, &p->break_ms)) !=
            MODQ_POLICY_OK ||
        (r = get_int(c, v[3], "limits.cooldown_blocks_from_tier", 1, MODQ_POLICY_TIERS,
                     &p->cooldown_min_tier)) != MODQ_POLICY_OK ||
        (r = get_int(c, v[4], "limits.rotation_max_consecutive", 1, 10000, &p->rotation_max)) !=
            MODQ_POLICY_OK ||
        (r = get_minutes(c, v[5], "limits.shift_max_minutes", true, 1440.0, &p->shift_max_ms)) !=
            MODQ_POLICY_OK ||
        (r = get_number(c, v[6], "limits.warning_threshold", 0.01, 0.99, &p->warning_fraction)) !=
            MODQ_POLICY_OK) {
        return r;
    }
    if (p->max_continuous_ms > p->shift_max_ms) {
        return fail(c, v[1], "limits.max_continuous_minutes",
                    "must not exceed limits.shift_max_minutes");
    }
    /* Optional, so that older files still load; the default is the shipped policy's. */
    p->min_rest_ms = POLICY_DEFAULT_MIN_REST_MS;
    if (v[7] != NULL) {
        r = get_minutes(c, v[7], "limits.min_rest_between_shifts_minutes", true, 1440.0,
                        &p->min_rest_ms);
    }
    return r;
}

static modq_policy_result load_doc(const load_ctx *c, modq_policy *p)
{
    static const char *const keys[] = {"version", "exposure", "tiers", "queues", "limits"};
    yaml_node_t *v[5];
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (root == NULL) {
        return fail(c, NULL, "(top level)", "the file is empty");
    }
    modq_policy_result r = walk_map(c, root, "", keys, 5, 0x1f, v);
    if (r != MODQ_POLICY_OK) {
        return r;
    }
    if ((r = get_name(c, v[0], "version", p->version, sizeof p->version, "._-+", true)) !=
            MODQ_POLICY_OK ||
        (r = load_exposure(c, v[1], p)) != MODQ_POLICY_OK ||
        (r = load_tiers(c, v[2], p)) != MODQ_POLICY_OK ||
        (r = load_queues(c, v[3], p)) != MODQ_POLICY_OK) {
        return r;
    }
    return load_limits(c, v[4], p);
}

modq_policy_result policy_load_document(struct yaml_document_s *doc, const char *name, char *errstr,
                                        size_t errstr_size, modq_policy *p)
{
    load_ctx c = {doc, name, errstr, errstr_size};
    return load_doc(&c, p);
}
