/*
 * test_policy_load.c: tests of policy/policy_load.c and policy/policy.c: every field of a policy
 * file is validated and its first error reported as FILE:LINE: field 'F': message; the shipped
 * policy loads; a failed reload keeps the old policy in force.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A valid policy; each case below changes one thing. Line numbers are given in the comments. */
static const char base_yaml[] = "version: \"v1\"\n"                           /* 1 */
                                "exposure:\n"                                 /* 2 */
                                "  reveal_weights: [1.0, 0.5, 0.25, 0.125]\n" /* 3 */
                                "  colour_factor: 1.5\n"                      /* 4 */
                                "tiers:\n"                                    /* 5 */
                                "  - tier: 1\n"                               /* 6 */
                                "    weight: 0.25\n"                          /* 7 */
                                "    default_level: 0\n"                      /* 8 */
                                "    max_reveal_level: 0\n"                   /* 9 */
                                "    colour: true\n"                          /* 10 */
                                "    full_reveal_needs_reason: false\n"       /* 11 */
                                "    cooldown_minutes: 0\n"                   /* 12 */
                                "  - tier: 2\n"                               /* 13 */
                                "    weight: 0.5\n"                           /* 14 */
                                "    default_level: 2\n"                      /* 15 */
                                "    max_reveal_level: 1\n"                   /* 16 */
                                "    colour: true\n"                          /* 17 */
                                "    full_reveal_needs_reason: false\n"       /* 18 */
                                "    cooldown_minutes: 0\n"                   /* 19 */
                                "  - tier: 3\n"                               /* 20 */
                                "    weight: 1.0\n"                           /* 21 */
                                "    default_level: 3\n"                      /* 22 */
                                "    max_reveal_level: 0\n"                   /* 23 */
                                "    colour: true\n"                          /* 24 */
                                "    full_reveal_needs_reason: true\n"        /* 25 */
                                "    cooldown_minutes: 0\n"                   /* 26 */
                                "  - tier: 4\n"                               /* 27 */
                                "    weight: 2.0\n"                           /* 28 */
                                "    default_level: 3\n"                      /* 29 */
                                "    max_reveal_level: 0\n"                   /* 30 */
                                "    colour: false\n"                         /* 31 */
                                "    full_reveal_needs_reason: yes_please\n"  /* 32 */
                                "    cooldown_minutes: 3\n"                   /* 33 */
                                "    daily_cap_minutes: 300\n"                /* 34 */
                                "queues:\n"                                   /* 35 */
                                "  - name: hate\n"                            /* 36 */
                                "    topic: modq.hate\n"                      /* 37 */
                                "    category: hate\n"                        /* 38 */
                                "    tier: 3\n"                               /* 39 */
                                "    roles: [associate, lead]\n"              /* 40 */
                                "    skills: [ar]\n"                          /* 41 */
                                "  - name: spam\n"                            /* 42 */
                                "    topic: modq.spam\n"                      /* 43 */
                                "    category: spam\n"                        /* 44 */
                                "    tier: 1\n"                               /* 45 */
                                "    roles: [associate]\n"                    /* 46 */
                                "limits:\n"                                   /* 47 */
                                "  daily_cap_minutes: 240\n"                  /* 48 */
                                "  max_continuous_minutes: 50\n"              /* 49 */
                                "  break_minutes: 10\n"                       /* 50 */
                                "  cooldown_blocks_from_tier: 2\n"            /* 51 */
                                "  rotation_max_consecutive: 10\n"            /* 52 */
                                "  shift_max_minutes: 480\n"                  /* 53 */
                                "  warning_threshold: 0.8\n";                 /* 54 */

/* Line 32 is deliberately broken in base_yaml so that the "valid" policy is made by this fix-up;
 * every case applies it first, then its own change. */
#define BASE_FIX_OLD "full_reveal_needs_reason: yes_please"
#define BASE_FIX_NEW "full_reveal_needs_reason: true"

typedef struct load_case {
    const char *old_text; /* must occur exactly once in the fixed base */
    const char *new_text;
    modq_policy_result result;
    const char *prefix;   /* expected start of the message */
    const char *contains; /* expected part of the message */
} load_case;

static const load_case cases[] = {
    {"version: \"v1\"", "version: \"\"", MODQ_POLICY_ERR_INVALID,
     "snip:1: field 'version': ", "non-empty"},
    {"version: \"v1\"", "version: \"a b\"", MODQ_POLICY_ERR_INVALID,
     "snip:1: field 'version': ", "character"},
    {"version: \"v1\"\n", "", MODQ_POLICY_ERR_INVALID, "snip:1: field 'version': ", "required"},
    {"version: \"v1\"", "version: \"v1\"\npolicy: x", MODQ_POLICY_ERR_INVALID,
     "snip:2: field 'policy': ", "unknown field"},
    {"[1.0, 0.5, 0.25, 0.125]", "[1.0, 0.5, 0.25]", MODQ_POLICY_ERR_INVALID,
     "snip:3: field 'exposure.reveal_weights': ", "list of 4"},
    {"[1.0, 0.5, 0.25, 0.125]", "[1.0, 0.5, 0.25, 0.5]", MODQ_POLICY_ERR_INVALID,
     "snip:3: field 'exposure.reveal_weights[3]': ", "heavier blur"},
    {"[1.0, 0.5, 0.25, 0.125]", "[1.0, 0.5, 0.25, x]", MODQ_POLICY_ERR_INVALID,
     "snip:3: field 'exposure.reveal_weights[3]': ", "must be a number"},
    {"[1.0, 0.5, 0.25, 0.125]", "[1.5, 0.5, 0.25, 0.125]", MODQ_POLICY_ERR_INVALID,
     "snip:3: field 'exposure.reveal_weights[0]': ", "between 0 and 1"},
    {"[1.0, 0.5, 0.25, 0.125]", "[0, 0, 0, 0]", MODQ_POLICY_ERR_INVALID,
     "snip:3: field 'exposure.reveal_weights[0]': ", "clear view"},
    {"colour_factor: 1.5", "colour_factor: 0.5", MODQ_POLICY_ERR_INVALID,
     "snip:4: field 'exposure.colour_factor': ", "between 1 and 10"},
    {"  colour_factor: 1.5\n", "", MODQ_POLICY_ERR_INVALID,
     "snip:3: field 'exposure.colour_factor': ", "required"},
    {"  colour_factor: 1.5", "  colour_factor: 1.5\n  colour_facter: 2", MODQ_POLICY_ERR_INVALID,
     "snip:5: field 'exposure.colour_facter': ", "unknown field"},
    {"  colour_factor: 1.5", "  colour_factor: 1.5\n  colour_factor: 1.5", MODQ_POLICY_ERR_INVALID,
     "snip:5: field 'exposure.colour_factor': ", "given twice"},
    {"    weight: 0.25", "    weight: -1", MODQ_POLICY_ERR_INVALID,
     "snip:7: field 'tiers[0].weight': ", "between 0 and 10"},
    {"    weight: 0.5", "    weight: 0.125", MODQ_POLICY_ERR_INVALID,
     "snip:6: field 'tiers': ", "tier 2 weighs less than tier 1"},
    {"  - tier: 1", "  - tier: 5", MODQ_POLICY_ERR_INVALID,
     "snip:6: field 'tiers[0].tier': ", "between 1 and 4"},
    {"  - tier: 2", "  - tier: 1", MODQ_POLICY_ERR_INVALID,
     "snip:13: field 'tiers[1].tier': ", "defined twice"},
    {"    default_level: 0", "    default_level: 4", MODQ_POLICY_ERR_INVALID,
     "snip:8: field 'tiers[0].default_level': ", "between 0 and 3"},
    {"    max_reveal_level: 1", "    max_reveal_level: 3", MODQ_POLICY_ERR_INVALID,
     "snip:15: field 'tiers[1].default_level': ", "must not be below max_reveal_level (3)"},
    {"    colour: false", "    colour: maybe", MODQ_POLICY_ERR_INVALID,
     "snip:31: field 'tiers[3].colour': ", "true or false"},
    {"    full_reveal_needs_reason: true\n    cooldown_minutes: 3",
     "    full_reveal_needs_reason: 1\n    cooldown_minutes: 3", MODQ_POLICY_ERR_INVALID,
     "snip:32: field 'tiers[3].full_reveal_needs_reason': ", "true or false"},
    {"    cooldown_minutes: 3", "    cooldown_minutes: 61", MODQ_POLICY_ERR_INVALID,
     "snip:33: field 'tiers[3].cooldown_minutes': ", "between 0 and 60"},
    {"    daily_cap_minutes: 300", "    daily_cap_minutes: 0", MODQ_POLICY_ERR_INVALID,
     "snip:34: field 'tiers[3].daily_cap_minutes': ", "must be a positive number"},
    {"    weight: 2.0\n", "", MODQ_POLICY_ERR_INVALID,
     "snip:27: field 'tiers[3].weight': ", "required"},
    {"    daily_cap_minutes: 300", "    daily_cap_minutes: 300\n    blur: 2",
     MODQ_POLICY_ERR_INVALID, "snip:35: field 'tiers[3].blur': ", "unknown field"},
    {"  - tier: 4\n", "  - {}\n  - tier: 4\n", MODQ_POLICY_ERR_INVALID,
     "snip:6: field 'tiers': ", "exactly 4 tiers"},
    {"  - name: hate", "  - name: Hate", MODQ_POLICY_ERR_INVALID,
     "snip:36: field 'queues[0].name': ", "character"},
    {"  - name: spam", "  - name: hate", MODQ_POLICY_ERR_INVALID,
     "snip:42: field 'queues[1].name': ", "already used by queues[0]"},
    {"    topic: modq.spam", "    topic: modq.hate", MODQ_POLICY_ERR_INVALID,
     "snip:43: field 'queues[1].topic': ", "already used by queues[0]"},
    {"    topic: modq.spam", "    topic: \"modq spam\"", MODQ_POLICY_ERR_INVALID,
     "snip:43: field 'queues[1].topic': ", "character"},
    {"    topic: modq.hate\n", "", MODQ_POLICY_ERR_INVALID,
     "snip:36: field 'queues[0].topic': ", "required"},
    {"    category: hate", "    category: \"\"", MODQ_POLICY_ERR_INVALID,
     "snip:38: field 'queues[0].category': ", "non-empty"},
    {"    tier: 3\n", "    tier: 0\n", MODQ_POLICY_ERR_INVALID,
     "snip:39: field 'queues[0].tier': ", "between 1 and 4"},
    {"    roles: [associate]\n", "    roles: [admin]\n", MODQ_POLICY_ERR_INVALID,
     "snip:46: field 'queues[1].roles[0]': ", "unknown role 'admin'"},
    {"    roles: [associate]\n", "    roles: []\n", MODQ_POLICY_ERR_INVALID,
     "snip:46: field 'queues[1].roles': ", "at least one role"},
    {"    skills: [ar]", "    skills: ar", MODQ_POLICY_ERR_INVALID,
     "snip:41: field 'queues[0].skills': ", "must be a list"},
    {"    skills: [ar]", "    near_copy_distance: 32", MODQ_POLICY_ERR_INVALID,
     "snip:41: field 'queues[0].near_copy_distance': ", "between 0 and 31"},
    {"    skills: [ar]", "    near_copy_distance: -1", MODQ_POLICY_ERR_INVALID,
     "snip:41: field 'queues[0].near_copy_distance': ", "between 0 and 31"},
    {"queues:\n  - name: hate\n    topic: modq.hate\n    category: hate\n    tier: 3\n"
     "    roles: [associate, lead]\n    skills: [ar]\n  - name: spam\n    topic: modq.spam\n"
     "    category: spam\n    tier: 1\n    roles: [associate]\n",
     "queues: []\n", MODQ_POLICY_ERR_INVALID, "snip:35: field 'queues': ", "non-empty list"},
    {"  daily_cap_minutes: 240", "  daily_cap_minutes: 0", MODQ_POLICY_ERR_INVALID,
     "snip:48: field 'limits.daily_cap_minutes': must be a positive number", ""},
    {"  daily_cap_minutes: 240", "  daily_cap_minutes: 2000", MODQ_POLICY_ERR_INVALID,
     "snip:48: field 'limits.daily_cap_minutes': ", "between 0 and 1440"},
    {"  max_continuous_minutes: 50", "  max_continuous_minutes: 500", MODQ_POLICY_ERR_INVALID,
     "snip:49: field 'limits.max_continuous_minutes': ", "must not exceed"},
    {"  break_minutes: 10", "  break_minutes: ten", MODQ_POLICY_ERR_INVALID,
     "snip:50: field 'limits.break_minutes': ", "must be a number"},
    {"  cooldown_blocks_from_tier: 2", "  cooldown_blocks_from_tier: 5", MODQ_POLICY_ERR_INVALID,
     "snip:51: field 'limits.cooldown_blocks_from_tier': ", "between 1 and 4"},
    {"  rotation_max_consecutive: 10", "  rotation_max_consecutive: 0", MODQ_POLICY_ERR_INVALID,
     "snip:52: field 'limits.rotation_max_consecutive': ", "between 1 and 10000"},
    {"  rotation_max_consecutive: 10", "  rotation_max_consecutive: 2.5", MODQ_POLICY_ERR_INVALID,
     "snip:52: field 'limits.rotation_max_consecutive': ", "must be an integer"},
    {"  shift_max_minutes: 480", "  shift_max_minutes: -5", MODQ_POLICY_ERR_INVALID,
     "snip:53: field 'limits.shift_max_minutes': ", "between 0 and 1440"},
    {"  warning_threshold: 0.8", "  warning_threshold: 1.0", MODQ_POLICY_ERR_INVALID,
     "snip:54: field 'limits.warning_threshold': ", "between 0.01 and 0.99"},
    {"  warning_threshold: 0.8\n", "", MODQ_POLICY_ERR_INVALID,
     "snip:48: field 'limits.warning_threshold': ", "required"},
    {"  warning_threshold: 0.8", "  warning_threshold: 0.8\n  max_items: 3",
     MODQ_POLICY_ERR_INVALID, "snip:55: field 'limits.max_items': ", "unknown field"},
    {"  colour_factor: 1.5", "  colour_factor: [1.5", MODQ_POLICY_ERR_SYNTAX, "snip:", ""},
    /* A positive value that rounds to 0 ms would mean "no cap". */
    {"  daily_cap_minutes: 240", "  daily_cap_minutes: 0.000001", MODQ_POLICY_ERR_INVALID,
     "snip:48: field 'limits.daily_cap_minutes': ", "at least 1 ms"},
    {"    daily_cap_minutes: 300", "    daily_cap_minutes: 0.000008", MODQ_POLICY_ERR_INVALID,
     "snip:34: field 'tiers[3].daily_cap_minutes': ", "at least 1 ms"},
    {"  break_minutes: 10", "  break_minutes: 0.000001", MODQ_POLICY_ERR_INVALID,
     "snip:50: field 'limits.break_minutes': ", "at least 1 ms"},
    /* Every view and every tier counts as exposure: no zero weights. */
    {"[1.0, 0.5, 0.25, 0.125]", "[1.0, 0.5, 0.25, 0]", MODQ_POLICY_ERR_INVALID,
     "snip:3: field 'exposure.reveal_weights[3]': ", "blurred view is still seen"},
    {"[1.0, 0.5, 0.25, 0.125]", "[1.0, 0, 0, 0]", MODQ_POLICY_ERR_INVALID,
     "snip:3: field 'exposure.reveal_weights[1]': ", "blurred view is still seen"},
    {"    weight: 0.25", "    weight: 0", MODQ_POLICY_ERR_INVALID,
     "snip:7: field 'tiers[0].weight': ", "must be more than 0"},
    /* The minimum rest between shifts is optional, positive and at most a day. */
    {"  warning_threshold: 0.8", "  warning_threshold: 0.8\n  min_rest_between_shifts_minutes: 0",
     MODQ_POLICY_ERR_INVALID,
     "snip:55: field 'limits.min_rest_between_shifts_minutes': ", "positive"},
    {"  warning_threshold: 0.8",
     "  warning_threshold: 0.8\n  min_rest_between_shifts_minutes: 1441", MODQ_POLICY_ERR_INVALID,
     "snip:55: field 'limits.min_rest_between_shifts_minutes': ", "between 0 and 1440"},
    /* Values and keys with control characters are shown on one line. */
    {"  break_minutes: 10", "  break_minutes: \"10\\nmore\"", MODQ_POLICY_ERR_INVALID,
     "snip:50: field 'limits.break_minutes': must be a number, not '10?more'", ""},
    {"  break_minutes: 10", "  \"break\\nminutes\": 10", MODQ_POLICY_ERR_INVALID,
     "snip:50: field 'limits.break?minutes': unknown field", ""},
    {"    category: hate", "    category: \"ha\\tte\"", MODQ_POLICY_ERR_INVALID,
     "snip:38: field 'queues[0].category': 'ha?te' has a character", ""},
    /* One document only. */
    {"  warning_threshold: 0.8\n", "  warning_threshold: 0.8\n---\nversion: \"v2\"\n",
     MODQ_POLICY_ERR_INVALID, "snip:56: field '(top level)': a second YAML document", ""},
    {"  warning_threshold: 0.8\n", "  warning_threshold: 0.8\n---\nlimits: [broken\n",
     MODQ_POLICY_ERR_SYNTAX, "snip:", ""},
    {"  warning_threshold: 0.8\n", "  warning_threshold: 0.8\n--- {}\n", MODQ_POLICY_ERR_INVALID,
     "snip:55: field '(top level)': a second YAML document", ""},
    /* Integers are decimal digits: YAML 1.1 reads 010 as octal, a person as ten. */
    {"  rotation_max_consecutive: 10", "  rotation_max_consecutive: 010", MODQ_POLICY_ERR_INVALID,
     "snip:52: field 'limits.rotation_max_consecutive': must be an integer between 1 and 10000",
     ""},
    {"  - tier: 1", "  - tier: +1", MODQ_POLICY_ERR_INVALID,
     "snip:6: field 'tiers[0].tier': must be an integer between 1 and 4", ""},
};

/* text with the one occurrence of old_text replaced by new_text; caller frees. */
static char *replace_once(const char *text, const char *old_text, const char *new_text)
{
    const char *hit = strstr(text, old_text);
    assert_non_null(hit);
    assert_null(strstr(hit + 1, old_text)); /* unique, so the case changes what it says */
    size_t pre = (size_t)(hit - text);
    size_t n = strlen(text) - strlen(old_text) + strlen(new_text) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    memcpy(out, text, pre);
    memcpy(out + pre, new_text, strlen(new_text));
    memcpy(out + pre + strlen(new_text), hit + strlen(old_text),
           strlen(hit + strlen(old_text)) + 1);
    return out;
}

/* The base with the fix-up and one case applied; caller frees. */
static char *apply(const char *old_text, const char *new_text)
{
    char *fixed = replace_once(base_yaml, BASE_FIX_OLD, BASE_FIX_NEW);
    if (old_text == NULL) {
        return fixed;
    }
    char *out = replace_once(fixed, old_text, new_text);
    free(fixed);
    return out;
}

static void test_load_accepts_the_valid_base_policy(void **state)
{
    (void)state;
    char *yaml = apply(NULL, NULL);
    modq_policy *p = NULL;
    char err[256] = "";
    assert_int_equal(modq_policy_load_buffer(yaml, strlen(yaml), "snip", &p, err, sizeof err),
                     MODQ_POLICY_OK);
    assert_string_equal(err, "");
    assert_string_equal(modq_policy_version(p), "v1");
    assert_int_equal(modq_policy_queue_count(p), 2);
    assert_string_equal(modq_policy_queue_topic(p, 0), "modq.hate");
    assert_int_equal(modq_policy_queue_roles(p, 0), MODQ_ROLE_ASSOCIATE | MODQ_ROLE_LEAD);
    assert_int_equal(modq_policy_queue_skill_count(p, 0), 1);
    assert_string_equal(modq_policy_queue_skill(p, 0, 0), "ar");
    assert_int_equal(modq_policy_queue_near_copy_distance(p, 0, -1), -1); /* the worker's default */
    assert_int_equal(modq_policy_tier_max_reveal(p, 2), 1);
    assert_false(modq_policy_tier_colour_allowed(p, 4));
    assert_true(modq_policy_tier_reason_required(p, 4));
    modq_policy_free(p);
    free(yaml);
    /* A queue of its own near-copy distance. */
    yaml = apply("    skills: [ar]\n", "    skills: [ar]\n    near_copy_distance: 8\n");
    assert_int_equal(modq_policy_load_buffer(yaml, strlen(yaml), "snip", &p, err, sizeof err),
                     MODQ_POLICY_OK);
    assert_int_equal(modq_policy_queue_near_copy_distance(p, 0, -1), 8);
    assert_int_equal(modq_policy_queue_near_copy_distance(p, 1, -1), -1);
    modq_policy_free(p);
    free(yaml);
}

static void test_load_reports_file_line_and_field_of_each_invalid_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const load_case *c = &cases[i];
        char *yaml = apply(c->old_text, c->new_text);
        modq_policy *p = (modq_policy *)&p; /* must come back NULL */
        char err[512] = "";
        modq_policy_result r =
            modq_policy_load_buffer(yaml, strlen(yaml), "snip", &p, err, sizeof err);
        free(yaml);
        print_message("case %zu: %s\n", i, err);
        assert_int_equal(r, c->result);
        assert_null(p);
        assert_memory_equal(err, c->prefix, strlen(c->prefix));
        assert_non_null(strstr(err, c->contains));
    }
}

static void test_load_accepts_one_document_with_an_explicit_end(void **state)
{
    (void)state;
    char *yaml = apply("  warning_threshold: 0.8\n", "  warning_threshold: 0.8\n...\n");
    modq_policy *p = NULL;
    char err[256] = "";
    assert_int_equal(modq_policy_load_buffer(yaml, strlen(yaml), "snip", &p, err, sizeof err),
                     MODQ_POLICY_OK);
    modq_policy_free(p);
    free(yaml);
}

/* More distinct categories than a ledger holds could never all be recorded. */
static void test_load_rejects_more_categories_than_a_ledger_holds(void **state)
{
    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        size_t size = 256 * 1024;
        char *yaml = malloc(size), *q = NULL;
        assert_non_null(yaml);
        char *fixed = apply(NULL, NULL);
        char *cut = strstr(fixed, "queues:\n");
        char *limits = strstr(fixed, "limits:\n");
        assert_non_null(cut);
        assert_non_null(limits);
        int n = snprintf(yaml, size, "%.*s", (int)(cut - fixed), fixed);
        q = yaml + n;
        q += snprintf(q, size - (size_t)(q - yaml), "queues:\n");
        for (int i = 0; i < MODQ_LEDGER_MAX_CATEGORIES + extra; i++) {
            q += snprintf(q, size - (size_t)(q - yaml),
                          "  - {name: q%d, topic: t.q%d, category: c%d, tier: 1, roles: [qa]}\n", i,
                          i, i);
        }
        snprintf(q, size - (size_t)(q - yaml), "%s", limits);
        modq_policy *p = NULL;
        char err[256] = "";
        modq_policy_result r =
            modq_policy_load_buffer(yaml, strlen(yaml), "snip", &p, err, sizeof err);
        if (extra == 0) {
            assert_int_equal(r, MODQ_POLICY_OK);
        } else {
            assert_int_equal(r, MODQ_POLICY_ERR_INVALID);
            assert_non_null(strstr(err, "field 'queues': more than 64 distinct categories"));
        }
        modq_policy_free(p);
        free(fixed);
        free(yaml);
    }
}

static void test_load_file_gives_the_reason_of_a_read_error(void **state)
{
    (void)state;
    modq_policy *p = NULL;
    char err[256] = "";
    /* A directory opens but cannot be read. */
    assert_int_equal(modq_policy_load_file("/", &p, err, sizeof err), MODQ_POLICY_ERR_IO);
    assert_string_equal(err, "/:1: read error: Is a directory");
}

static void test_load_rejects_empty_and_non_mapping_documents(void **state)
{
    (void)state;
    modq_policy *p = NULL;
    char err[256];
    assert_int_equal(modq_policy_load_buffer("", 0, "e.yaml", &p, err, sizeof err),
                     MODQ_POLICY_ERR_INVALID);
    assert_string_equal(err, "e.yaml:1: field '(top level)': the file is empty");
    assert_int_equal(modq_policy_load_buffer("- a\n", 4, "l.yaml", &p, err, sizeof err),
                     MODQ_POLICY_ERR_INVALID);
    assert_string_equal(err, "l.yaml:1: field '(top level)': must be a mapping");
    assert_null(p);
}

static void test_load_file_reports_a_missing_file_as_io_error(void **state)
{
    (void)state;
    modq_policy *p = NULL;
    char err[256];
    assert_int_equal(modq_policy_load_file("/nonexistent/policy.yaml", &p, err, sizeof err),
                     MODQ_POLICY_ERR_IO);
    assert_memory_equal(err, "/nonexistent/policy.yaml:1: cannot open", 39);
    assert_null(p);
}

static void test_load_rejects_a_buffer_over_the_size_cap(void **state)
{
    (void)state;
    size_t n = MODQ_POLICY_MAX_FILE_BYTES + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, '#', n);
    modq_policy *p = NULL;
    char err[256];
    assert_int_equal(modq_policy_load_buffer(big, n, "big", &p, err, sizeof err),
                     MODQ_POLICY_ERR_INVALID);
    assert_non_null(strstr(err, "larger than"));
    free(big);
}

static char *source_path(const char *rel)
{
    const char *root = getenv("MODQ_SOURCE_DIR");
    char *out = malloc(4096);
    assert_non_null(root);
    assert_non_null(out);
    snprintf(out, 4096, "%s/%s", root, rel);
    return out;
}

static void test_load_accepts_the_shipped_default_policy_with_its_queues(void **state)
{
    (void)state;
    char *path = source_path("policy/default.yaml");
    modq_policy *p = NULL;
    char err[512] = "";
    assert_int_equal(modq_policy_load_file(path, &p, err, sizeof err), MODQ_POLICY_OK);
    const char *want[] = {"violent_extremism", "self_harm", "csam", "hate", "nudity", "spam",
                          "escalations",       "qa"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_true(modq_policy_queue_find(p, want[i]) >= 0);
    }
    int esc = modq_policy_queue_find(p, "escalations");
    assert_int_equal(modq_policy_queue_roles(p, (size_t)esc), MODQ_ROLE_LEAD);
    int qa = modq_policy_queue_find(p, "qa");
    assert_int_equal(modq_policy_queue_roles(p, (size_t)qa), MODQ_ROLE_QA);
    /* Tier 4 is greyscale-only and starts at the heaviest blur [SCOLA]. */
    assert_false(modq_policy_tier_colour_allowed(p, 4));
    assert_int_equal(modq_policy_tier_default_level(p, 4), 3);
    modq_policy_free(p);
    free(path);
}

static void test_reload_failure_keeps_the_old_policy_in_force(void **state)
{
    (void)state;
    char *good = source_path("tests/data/policy/rules.yaml");
    char *dflt = source_path("policy/default.yaml");
    char bad[] = "/tmp/modq_policy_bad_XXXXXX";
    int fd = mkstemp(bad);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("version: broken\nlimits: {daily_cap_minutes: -1}\n", f);
    fclose(f);

    modq_policy *live = NULL;
    char err[512];
    assert_int_equal(modq_policy_load_file(good, &live, err, sizeof err), MODQ_POLICY_OK);
    modq_policy *before = live;
    assert_int_equal(modq_policy_reload(&live, bad, err, sizeof err), MODQ_POLICY_ERR_INVALID);
    assert_ptr_equal(live, before);
    assert_string_equal(modq_policy_version(live), "test-rules-1");
    assert_memory_equal(err, bad, strlen(bad));
    assert_int_equal(modq_policy_reload(&live, "/nonexistent.yaml", err, sizeof err),
                     MODQ_POLICY_ERR_IO);
    assert_ptr_equal(live, before);
    assert_int_equal(modq_policy_reload(&live, dflt, err, sizeof err), MODQ_POLICY_OK);
    assert_string_equal(modq_policy_version(live), "2026.1-default");
    modq_policy_free(live);
    unlink(bad);
    free(good);
    free(dflt);
}

static void test_strerror_and_reason_names_are_stable(void **state)
{
    (void)state;
    for (int r = 0; r < MODQ_POLICY_RESULT_COUNT; r++) {
        assert_non_null(modq_policy_strerror((modq_policy_result)r));
    }
    assert_string_equal(modq_policy_strerror(MODQ_POLICY_RESULT_COUNT), "unknown result");
    const char *names[] = {"NONE",     "ON_BREAK",     "SHIFT_OVER", "BREAK_DUE",    "ROLE",
                           "SKILL",    "OPT_OUT",      "DAILY_CAP",  "TIER_CAP",     "COOLDOWN",
                           "ROTATION", "REVEAL_LEVEL", "COLOUR",     "NEEDS_REASON", "LEDGER_FULL"};
    assert_int_equal(sizeof names / sizeof names[0], MODQ_REASON_COUNT);
    for (int r = 0; r < MODQ_REASON_COUNT; r++) {
        assert_string_equal(modq_policy_reason_name((modq_policy_reason)r), names[r]);
    }
    assert_string_equal(modq_policy_reason_name(MODQ_REASON_COUNT), "UNKNOWN");
    assert_string_equal(modq_policy_cap_name(MODQ_CAP_TIER4), "tier4");
    assert_int_equal(modq_policy_role_parse("qa"), MODQ_ROLE_QA);
    assert_int_equal(modq_policy_role_parse("root"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_accepts_the_valid_base_policy),
        cmocka_unit_test(test_load_reports_file_line_and_field_of_each_invalid_field),
        cmocka_unit_test(test_load_accepts_one_document_with_an_explicit_end),
        cmocka_unit_test(test_load_rejects_more_categories_than_a_ledger_holds),
        cmocka_unit_test(test_load_file_gives_the_reason_of_a_read_error),
        cmocka_unit_test(test_load_rejects_empty_and_non_mapping_documents),
        cmocka_unit_test(test_load_file_reports_a_missing_file_as_io_error),
        cmocka_unit_test(test_load_rejects_a_buffer_over_the_size_cap),
        cmocka_unit_test(test_load_accepts_the_shipped_default_policy_with_its_queues),
        cmocka_unit_test(test_reload_failure_keeps_the_old_policy_in_force),
        cmocka_unit_test(test_strerror_and_reason_names_are_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
