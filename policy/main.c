/*
 * main.c: the modq-policy command. `check` validates a policy file; `simulate` replays a JSON-lines
 * trace of one associate's requests against a policy and prints each decision, so that a lead can
 * see what a policy change does to a shift before deploying it.
 *
 * Exit codes: 0 success, 1 usage error, 2 any failure: invalid policy or trace ("FILE:LINE:
 * message" on stderr), unreadable file, out of memory.
 */
#include "modq_policy.h"
#include "modq_common.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE (64 * 1024) /* a trace line longer than this is an error, not a reason to grow */

static void usage(FILE *f)
{
    fputs(
        "usage: modq-policy check FILE\n"
        "       modq-policy simulate --policy FILE --trace TRACE\n"
        "\n"
        "check     validate a wellbeing policy; prints a one-line summary, or FILE:LINE: message\n"
        "          and exits 2.\n"
        "simulate  replay a JSON-lines trace of one associate's requests and print one JSON line\n"
        "          per request with the decision, reason, until-time, exposure and warnings.\n"
        "          Ops: settings (roles, skills, opt_outs, daily_cap_minutes, tier_caps,\n"
        "          default_levels), shift_start, shift_end, next {queue}, show {queue},\n"
        "          hide, reveal {level, colour, reason}, break_start, break_end, status.\n"
        "          Each line needs \"t\": \"2026-01-05T09:00:00Z\" (or Unix ms, 0 up to the end "
        "of\n"
        "          year 9999); times must not go backwards. Without a settings line the\n"
        "          associate has the role associate. shift_end starts the minimum rest.\n"
        "          next/show/reveal print the decision for that request; the other ops print\n"
        "          the associate's status after it (\"deny\" with ON_BREAK, BREAK_DUE, ... when\n"
        "          no harmful item could be handed out).\n"
        "\n"
        "exit      0 success, 1 usage error, 2 invalid policy or trace, or any other failure.\n",
        f);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (the usual era-based civil algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Reads exactly n digits. */
static bool digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    *s += n;
    *out = v;
    return true;
}

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" (UTC only: a trace must not depend on the reader's zone). */
static bool parse_time(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, se, frac = 0;
    if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
        !digits(&s, 2, &d) || *s++ != 'T' || !digits(&s, 2, &h) || *s++ != ':' ||
        !digits(&s, 2, &mi) || *s++ != ':' || !digits(&s, 2, &se)) {
        return false;
    }
    if (*s == '.') {
        s++;
        if (!digits(&s, 3, &frac)) {
            return false;
        }
    }
    if (strcmp(s, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        se > 59) {
        return false;
    }
    *ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * INT64_C(60000) + se * 1000 + frac;
    return true;
}

static json_t *time_json(int64_t ms)
{
    char buf[40];
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - days * 86400000;
    int y, mo, d;
    civil_from_days(days, &y, &mo, &d);
    int h = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60), se = (int)(rem / 1000 % 60);
    int f = (int)(rem % 1000);
    if (f != 0) {
        snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, se, f);
    } else {
        snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, se);
    }
    return json_string(buf);
}

static json_t *minutes_json(double m)
{
    return json_real(round(m * 1000.0) / 1000.0);
}

static int cmd_check(const char *path)
{
    modq_policy *p = NULL;
    char err[512], summary[512];
    modq_policy_result r = modq_policy_load_file(path, &p, err, sizeof err);
    if (r != MODQ_POLICY_OK) {
        fprintf(stderr, "%s\n", err[0] ? err : modq_policy_strerror(r));
        return 2;
    }
    modq_policy_summary(p, summary, sizeof summary);
    printf("%s: ok: %s\n", path, summary);
    modq_policy_free(p);
    return 0;
}

/* The state of one simulation; main.c's own, so it may hold everything in one place. */
typedef struct sim {
    const char *trace;
    unsigned long line;
    modq_policy *policy;
    modq_ledger *ledger;
    modq_settings *settings;
    modq_decision *d;
} sim;

__attribute__((format(printf, 2, 3))) static int sim_fail(const sim *s, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%lu: ", s->trace, s->line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

static int apply_settings(sim *s, json_t *req)
{
    char err[512];
    json_t *v, *arr;
    size_t i;
    modq_settings *n = modq_settings_new();
    if (n == NULL) {
        return sim_fail(s, "out of memory");
    }
    unsigned roles = 0;
    json_array_foreach(json_object_get(req, "roles"), i, v)
    {
        unsigned bit = modq_policy_role_parse(json_string_value(v));
        if (bit == 0) {
            modq_settings_free(n);
            return sim_fail(s, "settings: unknown role");
        }
        roles |= bit;
    }
    modq_settings_set_roles(n, json_object_get(req, "roles") ? roles : MODQ_ROLE_ASSOCIATE);
    modq_policy_result r = MODQ_POLICY_OK;
    json_array_foreach(json_object_get(req, "skills"), i, v)
    {
        r = r != MODQ_POLICY_OK ? r : modq_settings_add_skill(n, json_string_value(v));
    }
    json_array_foreach(json_object_get(req, "opt_outs"), i, v)
    {
        r = r != MODQ_POLICY_OK ? r : modq_settings_add_opt_out(n, json_string_value(v));
    }
    if ((v = json_object_get(req, "daily_cap_minutes")) != NULL && r == MODQ_POLICY_OK) {
        r = modq_settings_set_daily_cap(n, json_number_value(v));
    }
    const char *key;
    arr = json_object_get(req, "tier_caps");
    json_object_foreach(arr, key, v)
    {
        int64_t t = 0;
        r = r != MODQ_POLICY_OK ? r
            : !modq_parse_int64(key, INT_MIN, INT_MAX, &t)
                ? MODQ_POLICY_ERR_INVALID_ARG
                : modq_settings_set_tier_cap(n, (int)t, json_number_value(v));
    }
    arr = json_object_get(req, "default_levels");
    json_object_foreach(arr, key, v)
    {
        r = r != MODQ_POLICY_OK
                ? r
                : modq_settings_set_default_level(n, key, (int)json_integer_value(v));
    }
    if (r != MODQ_POLICY_OK) {
        modq_settings_free(n);
        return sim_fail(s, "settings: %s", modq_policy_strerror(r));
    }
    r = modq_settings_validate(n, s->policy, err, sizeof err);
    if (r != MODQ_POLICY_OK) {
        modq_settings_free(n);
        return sim_fail(s, "%s", err);
    }
    modq_settings_free(s->settings);
    s->settings = n;
    return 0;
}

/* Adds the decision's verdict, usage and warnings to out. */
static void put_decision(const sim *s, json_t *out, bool verdict)
{
    const modq_decision *d = s->d;
    double used, limit;
    if (verdict) {
        bool ok = modq_decision_allowed(d);
        int64_t until = modq_decision_until_ms(d);
        json_object_set_new(out, "decision", json_string(ok ? "allow" : "deny"));
        json_object_set_new(out, "reason",
                            ok ? json_null()
                               : json_string(modq_policy_reason_name(modq_decision_reason(d))));
        json_object_set_new(out, "until", until > 0 ? time_json(until) : json_null());
    }
    modq_decision_cap(d, MODQ_CAP_DAILY, &used, &limit);
    json_object_set_new(out, "exposure_minutes", minutes_json(used));
    json_object_set_new(out, "daily_cap_minutes", minutes_json(limit));
    json_t *w = json_array();
    for (size_t i = 0; i < modq_decision_warning_count(d); i++) {
        modq_policy_cap c = modq_decision_warning(d, i);
        json_t *o = json_object();
        modq_decision_cap(d, c, &used, &limit);
        json_object_set_new(o, "cap", json_string(modq_policy_cap_name(c)));
        json_object_set_new(o, "used_minutes", minutes_json(used));
        json_object_set_new(o, "limit_minutes", minutes_json(limit));
        json_array_append_new(w, o);
    }
    json_object_set_new(out, "warnings", w);
}

static int record_error(const sim *s, const char *op, modq_policy_result r)
{
    return sim_fail(s, "%s: %s", op, modq_policy_strerror(r));
}

/* The request's "t" into *now: an RFC 3339 UTC time or Unix ms, in the policy's range and not
 * before the ledger's newest record. 0, or sim_fail's status. */
static int step_time(const sim *s, json_t *req, int64_t *now)
{
    json_t *tv = json_object_get(req, "t");
    if (json_is_integer(tv)) {
        *now = (int64_t)json_integer_value(tv);
    } else if (!json_is_string(tv) || !parse_time(json_string_value(tv), now)) {
        return sim_fail(s, "\"t\" must be \"YYYY-MM-DDTHH:MM:SS[.fff]Z\" or Unix ms");
    }
    if (*now < 0 || *now > MODQ_POLICY_TIME_MAX) {
        return sim_fail(s,
                        "\"t\" must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z");
    }
    if (*now < modq_ledger_last_ms(s->ledger)) {
        return sim_fail(s, "time goes backwards");
    }
    return 0;
}

/* next and show: the queue's check at now; show also puts an allowed item on screen. */
static int step_next_show(sim *s, const char *op, json_t *req, int64_t now, json_t *out)
{
    const char *qname = json_string_value(json_object_get(req, "queue"));
    int qi = modq_policy_queue_find(s->policy, qname);
    modq_policy_result r;
    if (qi < 0) {
        return sim_fail(s, "unknown queue '%s'", qname ? qname : "(none)");
    }
    json_object_set_new(out, "queue", json_string(qname));
    r = modq_policy_check(s->policy, s->ledger, s->settings, (size_t)qi, now, s->d);
    if (r != MODQ_POLICY_OK) {
        return record_error(s, op, r);
    }
    bool shown = false;
    if (strcmp(op, "show") == 0 && modq_decision_allowed(s->d)) {
        if (modq_ledger_item_open(s->ledger)) {
            return sim_fail(s, "show: an item is already shown (hide it first)");
        }
        r = modq_ledger_show(s->ledger, modq_policy_queue_category(s->policy, (size_t)qi),
                             modq_policy_queue_tier(s->policy, (size_t)qi),
                             modq_decision_show_level(s->d), now);
        if (r != MODQ_POLICY_OK) {
            return record_error(s, op, r);
        }
        shown = true;
    }
    put_decision(s, out, true);
    json_object_set_new(out, "level", json_integer(modq_decision_show_level(s->d)));
    if (strcmp(op, "show") == 0) {
        json_object_set_new(out, "shown", json_boolean(shown));
    }
    return 0;
}

/* reveal: the reveal check at now, and an allowed view recorded in the ledger. */
static int step_reveal(sim *s, const char *op, json_t *req, int64_t now, json_t *out)
{
    json_t *lv = json_object_get(req, "level");
    const char *why = json_string_value(json_object_get(req, "reason"));
    bool colour = json_is_true(json_object_get(req, "colour"));
    modq_policy_result r;
    if (!json_is_integer(lv)) {
        return sim_fail(s, "reveal: \"level\" must be an integer 0..3");
    }
    int level = (int)json_integer_value(lv);
    r = modq_policy_check_reveal(s->policy, s->ledger, s->settings, level, colour,
                                 why != NULL && why[0] != '\0', now, s->d);
    if (r == MODQ_POLICY_OK && modq_decision_allowed(s->d)) {
        r = modq_ledger_reveal(s->ledger, level, colour, now);
    }
    if (r != MODQ_POLICY_OK) {
        return record_error(s, op, r);
    }
    put_decision(s, out, true);
    json_object_set_new(out, "level", json_integer(level));
    return 0;
}

/* settings, the ledger's own ops (hide, breaks, shifts) and status: the op, then the status. */
static int step_ledger(sim *s, const char *op, json_t *req, int64_t now, json_t *out)
{
    modq_policy_result r = MODQ_POLICY_OK;
    if (strcmp(op, "settings") == 0) {
        int rc = apply_settings(s, req);
        if (rc != 0) {
            return rc;
        }
    } else if (strcmp(op, "hide") == 0) {
        r = modq_ledger_hide(s->ledger, now);
    } else if (strcmp(op, "break_start") == 0) {
        r = modq_ledger_break_start(s->ledger, now);
    } else if (strcmp(op, "break_end") == 0) {
        r = modq_ledger_break_end(s->ledger, now);
    } else if (strcmp(op, "shift_start") == 0) {
        r = modq_ledger_start_shift(s->ledger, now);
    } else if (strcmp(op, "shift_end") == 0) {
        r = modq_ledger_end_shift(s->ledger, now);
    } else if (strcmp(op, "status") != 0) {
        return sim_fail(s, "unknown op '%s'", op);
    }
    if (r != MODQ_POLICY_OK) {
        return record_error(s, op, r);
    }
    r = modq_policy_status(s->policy, s->ledger, s->settings, now, s->d);
    if (r != MODQ_POLICY_OK) {
        return record_error(s, op, r);
    }
    put_decision(s, out, true);
    return 0;
}

static int sim_step(sim *s, json_t *req, json_t *out)
{
    const char *op = json_string_value(json_object_get(req, "op"));
    int64_t now = 0;
    int rc;
    if (op == NULL) {
        return sim_fail(s, "missing \"op\"");
    }
    if ((rc = step_time(s, req, &now)) != 0) {
        return rc;
    }
    json_object_set_new(out, "t", time_json(now));
    json_object_set_new(out, "op", json_string(op));
    if (strcmp(op, "next") == 0 || strcmp(op, "show") == 0) {
        return step_next_show(s, op, req, now, out);
    }
    if (strcmp(op, "reveal") == 0) {
        return step_reveal(s, op, req, now, out);
    }
    return step_ledger(s, op, req, now, out);
}

static int cmd_simulate(const char *policy_path, const char *trace_path)
{
    char err[512];
    sim s = {.trace = trace_path};
    FILE *f = NULL;
    char *line = NULL;
    int rc = 0;

    if (modq_policy_load_file(policy_path, &s.policy, err, sizeof err) != MODQ_POLICY_OK) {
        fprintf(stderr, "%s\n", err);
        rc = 2;
        goto out;
    }
    s.settings = modq_settings_new();
    s.d = modq_decision_new();
    if (s.settings == NULL || s.d == NULL ||
        modq_ledger_new("simulated", &s.ledger) != MODQ_POLICY_OK) {
        fprintf(stderr, "modq-policy: out of memory\n");
        rc = 2;
        goto out;
    }
    modq_settings_set_roles(s.settings, MODQ_ROLE_ASSOCIATE);
    f = fopen(trace_path, "r");
    if (f == NULL) {
        fprintf(stderr, "%s:1: cannot open: %s\n", trace_path, strerror(errno));
        rc = 2;
        goto out;
    }
    line = malloc(MAX_LINE + 2); /* room for MAX_LINE bytes, the newline and the NUL */
    if (line == NULL) {
        fprintf(stderr, "modq-policy: out of memory\n");
        rc = 2;
        goto out;
    }
    while (rc == 0 && fgets(line, MAX_LINE + 2, f) != NULL) {
        json_error_t jerr;
        size_t n = strlen(line);
        s.line++;
        if (n > 0 && line[n - 1] != '\n' && !feof(f)) {
            rc = sim_fail(&s, "line longer than %d bytes", MAX_LINE);
            break;
        }
        if (strspn(line, " \t\r\n") == n) {
            continue; /* blank lines are allowed */
        }
        json_t *req = json_loads(line, 0, &jerr);
        if (!json_is_object(req)) {
            rc = sim_fail(&s, "not a JSON object: %s", req == NULL ? jerr.text : "wrong type");
            json_decref(req);
            break;
        }
        json_t *out = json_object();
        rc = sim_step(&s, req, out);
        if (rc == 0) {
            char *txt =
                json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
            if (txt != NULL) {
                puts(txt);
                free(txt);
            }
        }
        json_decref(out);
        json_decref(req);
    }
out:
    free(line);
    if (f != NULL) {
        fclose(f);
    }
    modq_decision_free(s.d);
    modq_ledger_free(s.ledger);
    modq_settings_free(s.settings);
    modq_policy_free(s.policy);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "check") == 0) {
        return cmd_check(argv[2]);
    }
    if (argc >= 2 && strcmp(argv[1], "simulate") == 0) {
        const char *policy = NULL, *trace = NULL;
        for (int i = 2; i + 1 < argc; i += 2) {
            if (strcmp(argv[i], "--policy") == 0) {
                policy = argv[i + 1];
            } else if (strcmp(argv[i], "--trace") == 0) {
                trace = argv[i + 1];
            } else {
                policy = trace = NULL;
                break;
            }
        }
        if (policy != NULL && trace != NULL && argc == 6) {
            return cmd_simulate(policy, trace);
        }
    }
    usage(stderr);
    return 1;
}
