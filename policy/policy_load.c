/*
 * policy_load.c: turns the text of a YAML policy into a modq_policy, validating every field.
 *
 * The common YAML walker (common/modq_yaml.h) parses the text as exactly one document, keeping
 * each node's line; this file walks that document against the policy's fixed schema. Unknown and
 * duplicate keys are errors: a typo in a wellbeing limit must not silently fall back to a default.
 * The first error wins and names FILE:LINE and the field. Reading files lives in policy_file.c.
 */
#include "policy_impl.h"

#include "modq_yaml.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A number of minutes in [0, hi] (in (0, hi] when positive) as whole milliseconds. */
static modq_yaml_result get_minutes(const modq_yaml *w, const yaml_node_t *n, const char *field,
                                    bool positive, double hi, int64_t *out)
{
    double v = 0;
    modq_yaml_result r = modq_yaml_number(w, n, field, 0.0, hi, &v);
    if (r != MODQ_YAML_OK) {
        return r;
    }
    if (positive && v <= 0.0) {
        return modq_yaml_fail(w, n, field, "must be a positive number");
    }
    *out = (int64_t)llround(v * (double)MS_PER_MIN);
    /* 0 ms means "none" for caps: a positive value that rounds to it would remove the cap. */
    if (positive && *out <= 0) {
        return modq_yaml_fail(w, n, field, "must be a positive number of at least 1 ms, not %g", v);
    }
    return MODQ_YAML_OK;
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

static modq_yaml_result get_name(const modq_yaml *w, const yaml_node_t *n, const char *field,
                                 char *dst, size_t size, const char *extra, bool upper)
{
    const char *s = modq_yaml_scalar(n);
    if (s == NULL || *s == '\0') {
        return modq_yaml_fail(w, n, field, "must be a non-empty string");
    }
    if (!name_ok(s, extra, upper)) {
        char shown[80];
        return modq_yaml_fail(w, n, field, "'%s' has a character outside [%s%s%s]",
                              modq_yaml_printable(s, shown, sizeof shown), "a-z0-9",
                              upper ? "A-Z" : "", extra);
    }
    if (!policy_copy_name(dst, size, s)) {
        return modq_yaml_fail(w, n, field, "longer than %zu characters", size - 1);
    }
    return MODQ_YAML_OK;
}

static modq_yaml_result load_exposure(modq_yaml *w, yaml_node_t *n, modq_policy *p)
{
    static const modq_yaml_key keys[] = {{"reveal_weights", true}, {"colour_factor", true}};
    yaml_node_t *v[MODQ_YAML_NKEYS(keys)];
    modq_yaml_result r = modq_yaml_map(w, n, "exposure", keys, MODQ_YAML_NKEYS(keys), v);
    if (r != MODQ_YAML_OK) {
        return r;
    }
    if (v[0]->type != YAML_SEQUENCE_NODE || modq_yaml_count(v[0]) != MODQ_POLICY_LEVELS) {
        return modq_yaml_fail(w, v[0], "exposure.reveal_weights",
                              "must be a list of %d weights, level 0 (clear) first",
                              MODQ_POLICY_LEVELS);
    }
    for (int i = 0; i < MODQ_POLICY_LEVELS; i++) {
        char field[64];
        yaml_node_t *item = modq_yaml_item(w, v[0], (size_t)i);
        snprintf(field, sizeof field, "exposure.reveal_weights[%d]", i);
        r = modq_yaml_number(w, item, field, 0.0, 1.0, &p->level_weight[i]);
        if (r != MODQ_YAML_OK) {
            return r;
        }
        if (i > 0 && p->level_weight[i] > p->level_weight[i - 1]) {
            return modq_yaml_fail(w, item, field,
                                  "a heavier blur must not weigh more than a lighter one");
        }
        if (p->level_weight[i] <= 0.0) {
            return modq_yaml_fail(w, item, field,
                                  i == 0 ? "a clear view must weigh more than 0"
                                         : "must be more than 0: a blurred view is still seen");
        }
    }
    return modq_yaml_number(w, v[1], "exposure.colour_factor", 1.0, 10.0, &p->colour_factor);
}

static modq_yaml_result load_tier(modq_yaml *w, yaml_node_t *n, size_t idx, modq_policy *p,
                                  bool seen[])
{
    static const modq_yaml_key keys[] = {{"tier", true},
                                         {"weight", true},
                                         {"default_level", true},
                                         {"max_reveal_level", true},
                                         {"colour", true},
                                         {"full_reveal_needs_reason", true},
                                         {"cooldown_minutes", true},
                                         {"daily_cap_minutes", false}};
    yaml_node_t *v[MODQ_YAML_NKEYS(keys)];
    char path[32], field[96];
    int tier = 0;
    snprintf(path, sizeof path, "tiers[%zu]", idx);
    modq_yaml_result r = modq_yaml_map(w, n, path, keys, MODQ_YAML_NKEYS(keys), v);
    if (r != MODQ_YAML_OK) {
        return r;
    }
    r = modq_yaml_int(w, v[0], modq_yaml_path(field, sizeof field, path, "tier"), 1,
                      MODQ_POLICY_TIERS, &tier);
    if (r != MODQ_YAML_OK) {
        return r;
    }
    if (seen[tier]) {
        return modq_yaml_fail(w, v[0], field, "tier %d is defined twice", tier);
    }
    seen[tier] = true;
    tier_cfg *t = &p->tiers[tier];
    r = modq_yaml_number(w, v[1], modq_yaml_path(field, sizeof field, path, "weight"), 0.0, 10.0,
                         &t->weight);
    if (r != MODQ_YAML_OK) {
        return r;
    }
    if (t->weight <= 0.0) {
        return modq_yaml_fail(w, v[1], field,
                              "must be more than 0: every tier's content is exposure");
    }
    if ((r = modq_yaml_int(w, v[2], modq_yaml_path(field, sizeof field, path, "default_level"), 0,
                           MODQ_POLICY_LEVELS - 1, &t->default_level)) != MODQ_YAML_OK ||
        (r = modq_yaml_int(w, v[3], modq_yaml_path(field, sizeof field, path, "max_reveal_level"),
                           0, MODQ_POLICY_LEVELS - 1, &t->max_reveal)) != MODQ_YAML_OK ||
        (r = modq_yaml_bool(w, v[4], modq_yaml_path(field, sizeof field, path, "colour"),
                            &t->colour)) != MODQ_YAML_OK ||
        (r = modq_yaml_bool(w, v[5],
                            modq_yaml_path(field, sizeof field, path, "full_reveal_needs_reason"),
                            &t->reason_required)) != MODQ_YAML_OK ||
        (r = get_minutes(w, v[6], modq_yaml_path(field, sizeof field, path, "cooldown_minutes"),
                         false, 60.0, &t->cooldown_ms)) != MODQ_YAML_OK) {
        return r;
    }
    if (t->default_level < t->max_reveal) {
        return modq_yaml_fail(w, v[2], modq_yaml_path(field, sizeof field, path, "default_level"),
                              "must not be below max_reveal_level (%d): items would start more "
                              "revealed than a reveal may go",
                              t->max_reveal);
    }
    t->daily_cap_ms = 0;
    if (v[7] != NULL) {
        r = get_minutes(w, v[7], modq_yaml_path(field, sizeof field, path, "daily_cap_minutes"),
                        true, 1440.0, &t->daily_cap_ms);
    }
    return r;
}

static modq_yaml_result load_tiers(modq_yaml *w, yaml_node_t *n, modq_policy *p)
{
    bool seen[MODQ_POLICY_TIERS + 1] = {false};
    if (n->type != YAML_SEQUENCE_NODE || modq_yaml_count(n) != MODQ_POLICY_TIERS) {
        return modq_yaml_fail(w, n, "tiers", "must be a list of exactly %d tiers",
                              MODQ_POLICY_TIERS);
    }
    for (size_t i = 0; i < MODQ_POLICY_TIERS; i++) {
        modq_yaml_result r = load_tier(w, modq_yaml_item(w, n, i), i, p, seen);
        if (r != MODQ_YAML_OK) {
            return r;
        }
    }
    for (int t = 2; t <= MODQ_POLICY_TIERS; t++) {
        if (p->tiers[t].weight < p->tiers[t - 1].weight) {
            return modq_yaml_fail(w, n, "tiers",
                                  "tier %d weighs less than tier %d; severity must not "
                                  "lower the weight",
                                  t, t - 1);
        }
    }
    return MODQ_YAML_OK;
}

static modq_yaml_result load_string_list(modq_yaml *w, yaml_node_t *n, const char *path,
                                         char (*dst)[MODQ_POLICY_NAME_MAX], size_t *count)
{
    char field[128];
    if (n->type != YAML_SEQUENCE_NODE) {
        return modq_yaml_fail(w, n, path, "must be a list");
    }
    if (modq_yaml_count(n) > MODQ_POLICY_MAX_SKILLS) {
        return modq_yaml_fail(w, n, path, "at most %d entries", MODQ_POLICY_MAX_SKILLS);
    }
    *count = modq_yaml_count(n);
    for (size_t i = 0; i < *count; i++) {
        snprintf(field, sizeof field, "%s[%zu]", path, i);
        modq_yaml_result r =
            get_name(w, modq_yaml_item(w, n, i), field, dst[i], MODQ_POLICY_NAME_MAX, "_-", true);
        if (r != MODQ_YAML_OK) {
            return r;
        }
    }
    return MODQ_YAML_OK;
}

/* roles: a non-empty list of role names, into q->roles. */
static modq_yaml_result load_roles(modq_yaml *w, yaml_node_t *n, const char *path, queue_cfg *q)
{
    char roles[MODQ_POLICY_MAX_SKILLS][MODQ_POLICY_NAME_MAX], field[96];
    size_t nroles = 0;
    modq_yaml_result r = load_string_list(w, n, path, roles, &nroles);
    if (r != MODQ_YAML_OK) {
        return r;
    }
    if (nroles == 0) {
        return modq_yaml_fail(w, n, path, "must name at least one role");
    }
    for (size_t i = 0; i < nroles; i++) {
        unsigned bit = modq_policy_role_parse(roles[i]);
        if (bit == 0) {
            snprintf(field, sizeof field, "%s[%zu]", path, i);
            return modq_yaml_fail(w, modq_yaml_item(w, n, i), field,
                                  "unknown role '%s' (associate, lead or qa)", roles[i]);
        }
        q->roles |= bit;
    }
    return MODQ_YAML_OK;
}

static modq_yaml_result load_queue(modq_yaml *w, yaml_node_t *n, size_t idx, modq_policy *p)
{
    static const modq_yaml_key keys[] = {
        {"name", true},  {"topic", true},   {"category", true},           {"tier", true},
        {"roles", true}, {"skills", false}, {"near_copy_distance", false}};
    yaml_node_t *v[MODQ_YAML_NKEYS(keys)];
    char path[32], field[96];
    queue_cfg *q = &p->queues[idx];
    snprintf(path, sizeof path, "queues[%zu]", idx);
    modq_yaml_result r = modq_yaml_map(w, n, path, keys, MODQ_YAML_NKEYS(keys), v);
    if (r != MODQ_YAML_OK) {
        return r;
    }
    if ((r = get_name(w, v[0], modq_yaml_path(field, sizeof field, path, "name"), q->name,
                      sizeof q->name, "_-", false)) != MODQ_YAML_OK ||
        (r = get_name(w, v[1], modq_yaml_path(field, sizeof field, path, "topic"), q->topic,
                      sizeof q->topic, "._-", true)) != MODQ_YAML_OK ||
        (r = get_name(w, v[2], modq_yaml_path(field, sizeof field, path, "category"), q->category,
                      sizeof q->category, "_", false)) != MODQ_YAML_OK ||
        (r = modq_yaml_int(w, v[3], modq_yaml_path(field, sizeof field, path, "tier"), 1,
                           MODQ_POLICY_TIERS, &q->tier)) != MODQ_YAML_OK ||
        (r = load_roles(w, v[4], modq_yaml_path(field, sizeof field, path, "roles"), q)) !=
            MODQ_YAML_OK) {
        return r;
    }
    if (v[5] != NULL &&
        (r = load_string_list(w, v[5], modq_yaml_path(field, sizeof field, path, "skills"),
                              q->skills, &q->nskills)) != MODQ_YAML_OK) {
        return r;
    }
    q->near_copy_distance = -1;
    if (v[6] != NULL &&
        (r = modq_yaml_int(w, v[6], modq_yaml_path(field, sizeof field, path, "near_copy_distance"),
                           0, MODQ_POLICY_NEAR_COPY_MAX, &q->near_copy_distance)) != MODQ_YAML_OK) {
        return r;
    }
    for (size_t j = 0; j < idx; j++) {
        if (strcmp(p->queues[j].name, q->name) == 0) {
            return modq_yaml_fail(w, v[0], modq_yaml_path(field, sizeof field, path, "name"),
                                  "'%s' is already used by queues[%zu]", q->name, j);
        }
        if (strcmp(p->queues[j].topic, q->topic) == 0) {
            return modq_yaml_fail(w, v[1], modq_yaml_path(field, sizeof field, path, "topic"),
                                  "'%s' is already used by queues[%zu]", q->topic, j);
        }
    }
    return MODQ_YAML_OK;
}

/* Every category must fit in a ledger's category table, or items of the last ones could never be
 * recorded and would be refused with LEDGER_FULL forever. */
static modq_yaml_result check_category_count(const modq_yaml *w, yaml_node_t *n,
                                             const modq_policy *p)
{
    size_t distinct = 0;
    for (size_t i = 0; i < p->nqueues; i++) {
        size_t j = 0;
        while (j < i && strcmp(p->queues[j].category, p->queues[i].category) != 0) {
            j++;
        }
        if (j == i && ++distinct > MODQ_LEDGER_MAX_CATEGORIES) {
            return modq_yaml_fail(w, n, "queues", "more than %d distinct categories",
                                  MODQ_LEDGER_MAX_CATEGORIES);
        }
    }
    return MODQ_YAML_OK;
}

static modq_yaml_result load_queues(modq_yaml *w, yaml_node_t *n, modq_policy *p)
{
    if (n->type != YAML_SEQUENCE_NODE || modq_yaml_count(n) == 0) {
        return modq_yaml_fail(w, n, "queues", "must be a non-empty list");
    }
    if (modq_yaml_count(n) > MODQ_POLICY_MAX_QUEUES) {
        return modq_yaml_fail(w, n, "queues", "at most %d queues", MODQ_POLICY_MAX_QUEUES);
    }
    p->queues = calloc(modq_yaml_count(n), sizeof *p->queues);
    if (p->queues == NULL) {
        return MODQ_YAML_ERR_NOMEM;
    }
    p->nqueues = modq_yaml_count(n);
    for (size_t i = 0; i < p->nqueues; i++) {
        modq_yaml_result r = load_queue(w, modq_yaml_item(w, n, i), i, p);
        if (r != MODQ_YAML_OK) {
            return r;
        }
    }
    return check_category_count(w, n, p);
}

static modq_yaml_result load_limits(modq_yaml *w, yaml_node_t *n, modq_policy *p)
{
    static const modq_yaml_key keys[] = {{"daily_cap_minutes", true},
                                         {"max_continuous_minutes", true},
                                         {"break_minutes", true},
                                         {"cooldown_blocks_from_tier", true},
                                         {"rotation_max_consecutive", true},
                                         {"shift_max_minutes", true},
                                         {"warning_threshold", true},
                                         {"min_rest_between_shifts_minutes", false}};
    yaml_node_t *v[MODQ_YAML_NKEYS(keys)];
    modq_yaml_result r = modq_yaml_map(w, n, "limits", keys, MODQ_YAML_NKEYS(keys), v);
    if (r != MODQ_YAML_OK) {
        return r;
    }
    if ((r = get_minutes(w, v[0], "limits.daily_cap_minutes", true, 1440.0, &p->daily_cap_ms)) !=
            MODQ_YAML_OK ||
        (r = get_minutes(w, v[1], "limits.max_continuous_minutes", true, 1440.0,
                         &p->max_continuous_ms)) != MODQ_YAML_OK ||
        (r = get_minutes(w, v[2], "limits.break_minutes", true, 240.0, &p->break_ms)) !=
            MODQ_YAML_OK ||
        (r = modq_yaml_int(w, v[3], "limits.cooldown_blocks_from_tier", 1, MODQ_POLICY_TIERS,
                           &p->cooldown_min_tier)) != MODQ_YAML_OK ||
        (r = modq_yaml_int(w, v[4], "limits.rotation_max_consecutive", 1, 10000,
                           &p->rotation_max)) != MODQ_YAML_OK ||
        (r = get_minutes(w, v[5], "limits.shift_max_minutes", true, 1440.0, &p->shift_max_ms)) !=
            MODQ_YAML_OK ||
        (r = modq_yaml_number(w, v[6], "limits.warning_threshold", 0.01, 0.99,
                              &p->warning_fraction)) != MODQ_YAML_OK) {
        return r;
    }
    if (p->max_continuous_ms > p->shift_max_ms) {
        return modq_yaml_fail(w, v[1], "limits.max_continuous_minutes",
                              "must not exceed limits.shift_max_minutes");
    }
    /* Optional, so that older files still load; the default is the shipped policy's. */
    p->min_rest_ms = POLICY_DEFAULT_MIN_REST_MS;
    if (v[7] != NULL) {
        r = get_minutes(w, v[7], "limits.min_rest_between_shifts_minutes", true, 1440.0,
                        &p->min_rest_ms);
    }
    return r;
}

static modq_yaml_result load_doc(modq_yaml *w, modq_policy *p)
{
    static const modq_yaml_key keys[] = {
        {"version", true}, {"exposure", true}, {"tiers", true}, {"queues", true}, {"limits", true}};
    yaml_node_t *v[MODQ_YAML_NKEYS(keys)];
    yaml_node_t *root = modq_yaml_root(w);
    if (root == NULL) {
        return modq_yaml_fail(w, NULL, "", "the file is empty");
    }
    modq_yaml_result r = modq_yaml_map(w, root, "", keys, MODQ_YAML_NKEYS(keys), v);
    if (r != MODQ_YAML_OK) {
        return r;
    }
    if ((r = get_name(w, v[0], "version", p->version, sizeof p->version, "._-+", true)) !=
            MODQ_YAML_OK ||
        (r = load_exposure(w, v[1], p)) != MODQ_YAML_OK ||
        (r = load_tiers(w, v[2], p)) != MODQ_YAML_OK ||
        (r = load_queues(w, v[3], p)) != MODQ_YAML_OK) {
        return r;
    }
    return load_limits(w, v[4], p);
}

/* The walker's results as this library's. */
static modq_policy_result policy_result(modq_yaml_result r)
{
    switch (r) {
    case MODQ_YAML_OK:
        return MODQ_POLICY_OK;
    case MODQ_YAML_ERR_NOMEM:
        return MODQ_POLICY_ERR_NOMEM;
    case MODQ_YAML_ERR_SYNTAX:
        return MODQ_POLICY_ERR_SYNTAX;
    default:
        return MODQ_POLICY_ERR_INVALID;
    }
}

modq_policy_result modq_policy_load_buffer(const char *buf, size_t len, const char *name,
                                           modq_policy **out, char *errstr, size_t errstr_size)
{
    modq_yaml w = {0};
    modq_policy *p = NULL;
    modq_yaml_result r = MODQ_YAML_OK;
    const char *shown = name != NULL ? name : "(policy)";

    if (errstr != NULL && errstr_size > 0) {
        errstr[0] = '\0';
    }
    if (out == NULL || buf == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (len > MODQ_POLICY_MAX_FILE_BYTES) {
        if (errstr != NULL && errstr_size > 0) {
            snprintf(errstr, errstr_size, "%s:1: field '(file)': larger than %d bytes", shown,
                     MODQ_POLICY_MAX_FILE_BYTES);
        }
        return MODQ_POLICY_ERR_INVALID;
    }
    r = modq_yaml_load(&w, buf, len, shown, "field", errstr, errstr_size);
    if (r != MODQ_YAML_OK) {
        goto out;
    }
    if ((p = calloc(1, sizeof *p)) == NULL) {
        r = MODQ_YAML_ERR_NOMEM;
        goto out;
    }
    if ((r = load_doc(&w, p)) == MODQ_YAML_OK) {
        *out = p;
        p = NULL;
    }
out:
    modq_policy_free(p);
    modq_yaml_free(&w);
    return policy_result(r);
}
