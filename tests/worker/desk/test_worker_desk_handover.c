/*
 * test_worker_desk_handover.c: an item passing from one person to another on the desk
 * (worker/desk/desk_review.c): other people kept off someone's item, escalation to a lead (never
 * the one who escalated, only a lead of the escalating person's team), and the escalated decision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "desk_testutil.h"

static void test_other_people_cannot_act_on_someones_item(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), b = dt_who("b1", "t1", ROLE_A | ROLE_L);
    uint8_t *data = NULL;
    size_t len;
    const char *mime;
    int level;
    char id[160];

    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_media(f->desk, &b, "h1", -1, false, "", T0, &data, &len, &mime,
                                     &level, NULL, NULL),
                     MODQ_DESK_ERR_FORBIDDEN);
    assert_null(data);
    assert_int_equal(modq_desk_reveal(f->desk, &b, "h1", 0, false, "why", T0, NULL),
                     MODQ_DESK_ERR_FORBIDDEN);
    assert_int_equal(modq_desk_decide(f->desk, &b, "h1", "remove", NULL, 0, NULL, T0, NULL),
                     MODQ_DESK_ERR_FORBIDDEN);
    assert_int_equal(modq_desk_escalate(f->desk, &b, "h1", "x", T0), MODQ_DESK_ERR_FORBIDDEN);
    assert_int_equal(modq_desk_release(f->desk, &b, "h1", T0), MODQ_DESK_ERR_FORBIDDEN);
    assert_int_equal(modq_desk_release(f->desk, &b, "nope", T0), MODQ_DESK_ERR_NOT_FOUND);
    assert_int_equal(modq_desk_decide(f->desk, &a, "h1", "remove", NULL, 0, NULL, T0 + 1, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(rec_count(&f->rec, REC_DECISION, NULL), 1);
}

static void test_escalated_item_goes_to_a_lead_and_is_decided_as_escalated(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), l1 = dt_who("l1", "t1", ROLE_L),
                  l2 = dt_who("l2", "t1", ROLE_L);
    Modq__V1__Decision *dec;
    modq_desk_counts n;
    json_t *item = NULL;
    char id[160];
    rec_msg *m;

    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "g1", "gore", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_escalate(f->desk, &a, "h1", "need context", T0 + 100), MODQ_DESK_OK);
    assert_int_equal(rec_audit_count(&f->rec, "h1", AU(ESCALATED)), 1);
    modq_desk_get_counts(f->desk, &n);
    assert_int_equal(n.escalations, 1);
    assert_int_equal(dt_next(f, &a, "hate", T0 + 200, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "");
    assert_int_equal(modq_desk_release(f->desk, &a, "h1", T0 + 200), MODQ_DESK_ERR_FORBIDDEN);

    assert_int_equal(
        modq_desk_next(f->desk, &l1, MODQ_DESK_QUEUE_ESCALATIONS, T0 + 300, &item, NULL, NULL),
        MODQ_DESK_OK);
    assert_non_null(item);
    assert_string_equal(json_string_value(json_object_get(item, "id")), "h1");
    assert_true(json_is_true(json_object_get(item, "escalated")));
    assert_string_equal(json_string_value(json_object_get(item, "escalation_note")),
                        "need context");
    json_decref(item);
    assert_int_equal(
        modq_desk_decide(f->desk, &l1, "h1", "remove_and_report", NULL, 0, "ok", T0 + 400, NULL),
        MODQ_DESK_OK);
    assert_non_null(m = rec_last(&f->rec, REC_DECISION, "h1"));
    assert_non_null(dec = modq__v1__decision__unpack(NULL, m->len, m->buf));
    assert_true(dec->escalated);
    assert_string_equal(dec->decided_by, "l1");
    assert_int_equal(dec->max_reveal_level, 3);
    modq__v1__decision__free_unpacked(dec, NULL);

    /* A lead who escalates does not get the item back, nor counts it: another lead does. */
    assert_int_equal(dt_next(f, &l1, "gore", T0 + 500, id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_escalate(f->desk, &l1, "g1", NULL, T0 + 600), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &l1, MODQ_DESK_QUEUE_ESCALATIONS, T0 + 700, id, NULL),
                     MODQ_DESK_OK);
    assert_string_equal(id, "");
    assert_int_equal(modq_desk_team(f->desk, &l1, T0 + 700, &item), MODQ_DESK_OK);
    assert_int_equal(json_integer_value(json_object_get(item, "escalations")), 0);
    json_decref(item);
    assert_int_equal(modq_desk_team(f->desk, &l2, T0 + 700, &item), MODQ_DESK_OK);
    assert_int_equal(json_integer_value(json_object_get(item, "escalations")), 1);
    json_decref(item);
    assert_int_equal(dt_next(f, &l2, MODQ_DESK_QUEUE_ESCALATIONS, T0 + 700, id, NULL),
                     MODQ_DESK_OK);
    assert_string_equal(id, "g1");
}

/* A lead sees their own team's escalations: another team's lead neither gets the item nor counts
 * it; one from someone without a team goes to any lead. */
static void test_escalation_goes_to_a_lead_of_the_escalating_team(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), n = dt_who("n1", "", ROLE_A),
                  l2 = dt_who("l2", "t2", ROLE_L), l1 = dt_who("l1", "t1", ROLE_L);
    json_t *team = NULL;
    char id[160];

    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "g1", "gore", 0, T0 + 1), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_escalate(f->desk, &a, "h1", "t1's question", T0 + 100),
                     MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &l2, MODQ_DESK_QUEUE_ESCALATIONS, T0 + 200, id, NULL),
                     MODQ_DESK_OK);
    assert_string_equal(id, "");
    assert_int_equal(modq_desk_team(f->desk, &l2, T0 + 200, &team), MODQ_DESK_OK);
    assert_int_equal(json_integer_value(json_object_get(team, "escalations")), 0);
    json_decref(team);
    assert_int_equal(modq_desk_team(f->desk, &l1, T0 + 200, &team), MODQ_DESK_OK);
    assert_int_equal(json_integer_value(json_object_get(team, "escalations")), 1);
    json_decref(team);

    assert_int_equal(dt_next(f, &n, "gore", T0 + 300, id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_escalate(f->desk, &n, "g1", NULL, T0 + 400), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &l2, MODQ_DESK_QUEUE_ESCALATIONS, T0 + 500, id, NULL),
                     MODQ_DESK_OK);
    assert_string_equal(id, "g1");
    assert_int_equal(dt_next(f, &l1, MODQ_DESK_QUEUE_ESCALATIONS, T0 + 500, id, NULL),
                     MODQ_DESK_OK);
    assert_string_equal(id, "h1");
}

/* A fleet's desk that Kafka has not confirmed lately (stopped, or cut off from the brokers) may
 * be one the fleet replaced: it shows, hands out and takes nothing, and changes nothing, until
 * it is confirmed again. A desk with nothing to hand out still says so. */
static void test_unconfirmed_desk_shows_and_takes_nothing(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), b = dt_who("b1", "t1", ROLE_A);
    uint8_t *data = NULL;
    size_t len;
    const char *mime;
    int level;
    char id[160];

    dfx_desk_as(f, MIN(30), 0.0, 8, true);
    assert_non_null(f->desk);
    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h2", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h1");
    size_t audits = rec_count(&f->rec, REC_AUDIT, NULL);

    f->unconfirmed = true;
    assert_int_equal(dt_next(f, &a, NULL, T0 + 1, id, NULL), MODQ_DESK_ERR_UNCONFIRMED);
    assert_string_equal(id, "");
    assert_int_equal(dt_next(f, &b, NULL, T0 + 1, id, NULL), MODQ_DESK_ERR_UNCONFIRMED);
    assert_int_equal(modq_desk_media(f->desk, &a, "h1", -1, false, "", T0 + 2, &data, &len, &mime,
                                     &level, NULL, NULL),
                     MODQ_DESK_ERR_UNCONFIRMED);
    assert_null(data);
    assert_int_equal(modq_desk_reveal(f->desk, &a, "h1", 0, false, "why", T0 + 2, NULL),
                     MODQ_DESK_ERR_UNCONFIRMED);
    assert_int_equal(modq_desk_decide(f->desk, &a, "h1", "remove", NULL, 0, NULL, T0 + 3, NULL),
                     MODQ_DESK_ERR_UNCONFIRMED);
    assert_int_equal(modq_desk_escalate(f->desk, &a, "h1", "x", T0 + 3), MODQ_DESK_ERR_UNCONFIRMED);
    assert_int_equal(modq_desk_release(f->desk, &a, "h1", T0 + 3), MODQ_DESK_ERR_UNCONFIRMED);
    assert_int_equal(rec_count(&f->rec, REC_DECISION, NULL), 0);
    assert_int_equal(rec_audit_count(&f->rec, "h1", AU(LEASED)), 1);
    assert_int_equal(rec_audit_count(&f->rec, "h2", AU(LEASED)), 0);
    assert_int_equal(rec_audit_count(&f->rec, "h1", AU(REVEAL)), 0);
    assert_int_equal(rec_count(&f->rec, REC_AUDIT, NULL), audits);

    f->unconfirmed = false; /* confirmed again: nothing was lost meanwhile */
    assert_int_equal(modq_desk_decide(f->desk, &a, "h1", "remove", NULL, 0, NULL, T0 + 4, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &b, NULL, T0 + 5, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h2");
    assert_int_equal(modq_desk_decide(f->desk, &b, "h2", "remove", NULL, 0, NULL, T0 + 6, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(rec_count(&f->rec, REC_DECISION, NULL), 2);

    f->unconfirmed = true; /* nothing waiting: nothing to confirm, an ordinary answer */
    assert_int_equal(dt_next(f, &a, NULL, T0 + 7, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_other_people_cannot_act_on_someones_item, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(
            test_escalated_item_goes_to_a_lead_and_is_decided_as_escalated, dfx_setup,
            dfx_teardown),
        cmocka_unit_test_setup_teardown(test_escalation_goes_to_a_lead_of_the_escalating_team,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_unconfirmed_desk_shows_and_takes_nothing, dfx_setup,
                                        dfx_teardown),
    };
    return cmocka_run_group_tests(tests, dfx_group_setup, dfx_group_teardown);
}
