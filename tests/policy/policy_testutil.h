/* policy_testutil.h: the fixture shared by the tests of policy/policy_check.c: the policy in
 * tests/data/policy/rules.yaml, one associate's ledger, settings and a decision. */
#ifndef MODQ_POLICY_TESTUTIL_H
#define MODQ_POLICY_TESTUTIL_H

#include "modq_policy.h"

#include <stdio.h>
#include <stdlib.h>

#define CONTINUOUS MIN(50)
#define BREAK      MIN(10)
#define SHIFT      MIN(480)
#define REST       MIN(600)

typedef struct fx {
    modq_policy *p;
    modq_ledger *l;
    modq_settings *s;
    modq_decision *d;
} fx;

static inline int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char path[4096], err[512];
    const char *root = getenv("MODQ_SOURCE_DIR");
    if (f == NULL || root == NULL) {
        free(f);
        return -1;
    }
    snprintf(path, sizeof path, "%s/tests/data/policy/rules.yaml", root);
    if (modq_policy_load_file(path, &f->p, err, sizeof err) != MODQ_POLICY_OK ||
        modq_ledger_new("a1", &f->l) != MODQ_POLICY_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    f->s = modq_settings_new();
    f->d = modq_decision_new();
    modq_settings_set_roles(f->s, MODQ_ROLE_ASSOCIATE);
    *state = f;
    return f->s == NULL || f->d == NULL ? -1 : 0;
}

static inline int teardown(void **state)
{
    fx *f = *state;
    modq_decision_free(f->d);
    modq_settings_free(f->s);
    modq_ledger_free(f->l);
    modq_policy_free(f->p);
    free(f);
    return 0;

#endif
