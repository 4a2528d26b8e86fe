/*
 * test_worker_desk_policy.c: the desk under the wellbeing policy (worker/desk/desk_person.c,
 * worker/desk/desk_json.c): a break due after continuous review, the cooldown after a severe item,
 * cap warnings sent once per crossing, breaks, ledgers restored from what the sink published, the
 * lead's team view, support requests and what their messages may hold, and a clock that steps
 * back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "desk_testutil.h"

static void test_break_is_due_when_continuous_review_reaches_its_limit(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    modq_desk_denial why = {MODQ_REASON_NONE, -1};
    Modq__V1__WellbeingEvent *e;
    json_t *item = NULL;
    char id[160];

    dfx_desk(f, MIN(60), 0.0, 8);
    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h2", "hate", 0, T0 + 1), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h3", "hate", 0, T0 + 2), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "h1", "remove", NULL, 0, NULL, T0 + MIN(19), NULL),
        MODQ_DESK_OK);
    assert_int_equal(modq_desk_next(f->desk, &a, NULL, T0 + MIN(19), &item, NULL, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(json_integer_value(json_object_get(item, "lease_expires_ms")), T0 + MIN(20));
    json_decref(item);

    /* At 20 minutes the lease has run out and a break of 5 minutes is due from then. */
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(20), id, &why), MODQ_DESK_ERR_DENIED);
    assert_int_equal(why.reason, MODQ_REASON_BREAK_DUE);
    assert_int_equal(why.until_ms, T0 + MIN(25));
    assert_int_equal(rec_audit_count(&f->rec, "h2", AU(LEASE_EXPIRED)), 1);
    assert_non_null(e = rec_wellbeing_last(&f->rec, "a1", WB(POLICY_DENIAL)));
    assert_string_equal(e->reason, "BREAK_DUE");
    assert_int_equal(e->until_ms, T0 + MIN(25));
    assert_string_equal(e->team, "t1");
    modq__v1__wellbeing_event__free_unpacked(e, NULL);
    assert_int_equal(dt_me_number(f, &a, T0 + MIN(21), "allowed", NULL), 0.0);
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(25) - 1, id, &why), MODQ_DESK_ERR_DENIED);
    assert_int_equal(rec_wellbeing_count(&f->rec, "a1", WB(POLICY_DENIAL)), 1);
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(25), id, &why), MODQ_DESK_OK);
    assert_true(id[0] != '\0');
}

static void test_cooldown_follows_a_tier4_item(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    modq_desk_denial why = {MODQ_REASON_NONE, -1};
    Modq__V1__WellbeingEvent *e;
    char id[160];

    assert_int_equal(dt_add(f, "x1", "terror", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h1", "hate", 9, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "s1", "spam", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, "terror", T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "x1", "remove", NULL, 0, NULL, T0 + MIN(1), NULL),
        MODQ_DESK_OK);
    assert_non_null(e = rec_wellbeing_last(&f->rec, "a1", WB(COOLDOWN_STARTED)));
    assert_int_equal(e->until_ms, T0 + MIN(4));
    modq__v1__wellbeing_event__free_unpacked(e, NULL);

    assert_int_equal(dt_next(f, &a, "hate", T0 + MIN(1), id, &why), MODQ_DESK_ERR_DENIED);
    assert_int_equal(why.reason, MODQ_REASON_COOLDOWN);
    assert_int_equal(why.until_ms, T0 + MIN(4));
    /* Spam is below the cooldown's tier: it may still be reviewed, though hate ranks higher. */
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(1), id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "s1");
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "s1", "no_violation", NULL, 0, NULL, T0 + MIN(2), NULL),
        MODQ_DESK_OK);
    assert_int_equal(rec_wellbeing_count(&f->rec, "a1", WB(COOLDOWN_STARTED)), 1);
    assert_int_equal(dt_me_number(f, &a, T0 + MIN(2), "cooldown_until_ms", NULL), T0 + MIN(4));
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(4) - 1, id, &why), MODQ_DESK_ERR_DENIED);
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(4), id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h1");
}

static void test_cap_warning_is_sent_once_per_crossing(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    Modq__V1__WellbeingEvent *e;
    char id[160];

    dfx_desk(f, MIN(60), 0.0, 8);
    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h2", "hate", 0, T0 + 1), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(dt_me_number(f, &a, T0 + MIN(10) - 1, "warning", "continuous"), 0.0);
    assert_int_equal(rec_wellbeing_count(&f->rec, "a1", WB(CAP_WARNING)), 0);
    /* Half of 20 minutes is the warning threshold. */
    assert_int_equal(dt_me_number(f, &a, T0 + MIN(10), "warning", "continuous"), 1.0);
    assert_int_equal(rec_wellbeing_count(&f->rec, "a1", WB(CAP_WARNING)), 1);
    assert_non_null(e = rec_wellbeing_last(&f->rec, "a1", WB(CAP_WARNING)));
    assert_string_equal(e->cap, "continuous");
    assert_true(e->used_minutes > 9.99 && e->used_minutes < 10.01);
    assert_true(e->limit_minutes > 19.99 && e->limit_minutes < 20.01);
    modq__v1__wellbeing_event__free_unpacked(e, NULL);
    assert_int_equal(dt_me_number(f, &a, T0 + MIN(11), "warning", "continuous"), 1.0);
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "h1", "remove", NULL, 0, NULL, T0 + MIN(12), NULL),
        MODQ_DESK_OK);
    assert_int_equal(rec_wellbeing_count(&f->rec, "a1", WB(CAP_WARNING)), 1);

    /* A full break clears it; the next crossing warns again, once. */
    assert_int_equal(modq_desk_break_start(f->desk, &a, T0 + MIN(12), NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_break_end(f->desk, &a, T0 + MIN(18), NULL), MODQ_DESK_OK);
    assert_int_equal(dt_me_number(f, &a, T0 + MIN(18), "warning", "continuous"), 0.0);
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(18), id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h2");
    assert_int_equal(dt_me_number(f, &a, T0 + MIN(28), "warning", "continuous"), 1.0);
    assert_int_equal(dt_me_number(f, &a, T0 + MIN(29), "warning", "continuous"), 1.0);
    assert_int_equal(rec_wellbeing_count(&f->rec, "a1", WB(CAP_WARNING)), 2);
}

static void test_breaks_start_and_end_with_events_and_ledger(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    modq_desk_denial why = {MODQ_REASON_NONE, -1};
    Modq__V1__WellbeingEvent *e;
    modq_desk_counts n;
    json_t *status = NULL;
    size_t ledgers;
    char id[160];

    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    ledgers = rec_count(&f->rec, REC_LEDGER, "a1");
    assert_int_equal(modq_desk_break_start(f->desk, &a, T0 + MIN(1), &status), MODQ_DESK_OK);
    assert_true(json_is_true(json_object_get(status, "on_break")));
    assert_int_equal(json_integer_value(json_object_get(status, "break_started_ms")), T0 + MIN(1));
    assert_string_equal(json_string_value(json_object_get(status, "reason")), "ON_BREAK");
    assert_true(json_is_null(json_object_get(status, "current_item")));
    json_decref(status);
    assert_true(rec_count(&f->rec, REC_LEDGER, "a1") > ledgers);
    assert_int_equal(rec_audit_count(&f->rec, "h1", AU(RELEASED)), 1);
    assert_int_equal(modq_desk_waiting(f->desk, (size_t)modq_policy_queue_find(f->policy, "hate")),
                     1);
    assert_non_null(e = rec_wellbeing_last(&f->rec, "a1", WB(BREAK_STARTED)));
    assert_int_equal(e->until_ms, T0 + MIN(6));
    modq__v1__wellbeing_event__free_unpacked(e, NULL);
    modq_desk_get_counts(f->desk, &n);
    assert_int_equal(n.on_break, 1);

    assert_int_equal(modq_desk_break_start(f->desk, &a, T0 + MIN(2), NULL), MODQ_DESK_ERR_STATE);
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(2), id, &why), MODQ_DESK_ERR_DENIED);
    assert_int_equal(why.reason, MODQ_REASON_ON_BREAK);
    assert_int_equal(why.until_ms, T0 + MIN(6));

    ledgers = rec_count(&f->rec, REC_LEDGER, "a1");
    assert_int_equal(modq_desk_break_end(f->desk, &a, T0 + MIN(7), &status), MODQ_DESK_OK);
    assert_true(json_is_false(json_object_get(status, "on_break")));
    assert_int_equal(json_integer_value(json_object_get(status, "break_started_ms")), 0);
    json_decref(status);
    assert_int_equal(rec_count(&f->rec, REC_LEDGER, "a1"), ledgers + 1);
    assert_int_equal(rec_wellbeing_count(&f->rec, "a1", WB(BREAK_ENDED)), 1);
    assert_int_equal(modq_desk_break_end(f->desk, &a, T0 + MIN(8), NULL), MODQ_DESK_ERR_STATE);
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(8), id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h1");
}

static void test_ledger_sent_to_the_sink_restores_into_a_fresh_desk(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    uint8_t *first, *last;
    size_t first_len, last_len, ledgers;
    double daily, cont;
    char id[160], err[256] = "";
    rec_msg *m;

    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    assert_non_null(m = rec_last(&f->rec, REC_LEDGER, "a1"));
    first_len = m->len;
    first = malloc(first_len);
    memcpy(first, m->buf, first_len);
    assert_int_equal(modq_desk_reveal(f->desk, &a, "h1", 1, false, NULL, T0 + MIN(1), NULL),
                     MODQ_DESK_OK);
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "h1", "remove", NULL, 0, NULL, T0 + MIN(3), NULL),
        MODQ_DESK_OK);
    assert_non_null(m = rec_last(&f->rec, REC_LEDGER, "a1"));
    last_len = m->len;
    last = malloc(last_len);
    memcpy(last, m->buf, last_len);
    daily = dt_me_number(f, &a, T0 + MIN(5), "used_minutes", "daily");
    cont = dt_me_number(f, &a, T0 + MIN(5), "used_minutes", "continuous");
    /* 1 min at level 3 (weight 1/8) and 2 min at level 1 (1/2) of tier 3 (weight 1). */
    assert_true(daily > 1.124 && daily < 1.126);

    dfx_desk(f, MIN(10), 0.0, 8);
    ledgers = rec_count(&f->rec, REC_LEDGER, NULL);
    assert_int_equal(
        modq_desk_ledger_restore(f->desk, (const uint8_t *)"\xff\xff", 2, err, sizeof(err)),
        MODQ_DESK_ERR_INVALID_ARG);
    assert_true(err[0] != '\0');
    assert_int_equal(modq_desk_ledger_restore(f->desk, last, last_len, err, sizeof(err)),
                     MODQ_DESK_OK);
    /* An older ledger read later does not replace the newer one. */
    assert_int_equal(modq_desk_ledger_restore(f->desk, first, first_len, err, sizeof(err)),
                     MODQ_DESK_OK);
    assert_true(dt_me_number(f, &a, T0 + MIN(5), "used_minutes", "daily") == daily);
    assert_true(dt_me_number(f, &a, T0 + MIN(5), "used_minutes", "continuous") == cont);
    assert_int_equal(rec_count(&f->rec, REC_LEDGER, NULL), ledgers);

    /* Into a desk that does not know a1: the first ledger alone still has h1 on screen, and this
     * desk, which leased nothing to a1, closes that view when a1 is next seen (5 min at 1/8). */
    dfx_desk(f, MIN(10), 0.0, 8);
    assert_int_equal(modq_desk_ledger_restore(f->desk, first, first_len, err, sizeof(err)),
                     MODQ_DESK_OK);
    daily = dt_me_number(f, &a, T0 + MIN(5), "used_minutes", "daily");
    assert_true(daily > 0.624 && daily < 0.626);
    daily = 1.125;
    dfx_desk(f, MIN(10), 0.0, 8);
    assert_int_equal(modq_desk_ledger_restore(f->desk, first, first_len, err, sizeof(err)),
                     MODQ_DESK_OK);
    assert_int_equal(modq_desk_ledger_restore(f->desk, last, last_len, err, sizeof(err)),
                     MODQ_DESK_OK);
    assert_true(dt_me_number(f, &a, T0 + MIN(5), "used_minutes", "daily") == daily);
    free(first);
    free(last);
}

/* The packed ledger the sink got last for who (malloc'd copy into *buf, *len). */
static void last_ledger(dfx *f, const char *who, uint8_t **buf, size_t *len)
{
    rec_msg *m = rec_last(&f->rec, REC_LEDGER, who);
    assert_non_null(m);
    *len = m->len;
    *buf = malloc(*len);
    assert_non_null(*buf);
    memcpy(*buf, m->buf, *len);
}

/*
 * The active desk of a fleet writes every ledger. A later record of another desk (one that died
 * or was cut off after the takeover) must not replace what this desk recorded: caps would then
 * forget exposure. A desk that is not the sole writer (role all) still adopts the newer one, and
 * after modq_desk_hand_over the sole writer follows the topic again.
 */
static void test_sole_writer_keeps_its_ledger_until_it_hands_over(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    uint8_t *zombie, *mine;
    size_t zombie_len, mine_len;
    double here, there;
    char id[160], err[256] = "";

    /* Elsewhere (the old desk): a1 looks at z1 from 20 to 28 min, at level 1. */
    dfx_desk(f, MIN(30), 0.0, 8);
    assert_int_equal(dt_add(f, "z1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(20), id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_reveal(f->desk, &a, "z1", 1, false, NULL, T0 + MIN(20), NULL),
                     MODQ_DESK_OK);
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "z1", "remove", NULL, 0, NULL, T0 + MIN(28), NULL),
        MODQ_DESK_OK);
    last_ledger(f, "a1", &zombie, &zombie_len);
    there = dt_me_number(f, &a, T0 + MIN(29), "used_minutes", "daily");

    /* Here, the sole writer: a1 looks at h1 from 1 to 5 min (a shorter, earlier history). */
    for (int sole = 1; sole >= 0; sole--) {
        dfx_desk_as(f, MIN(30), 0.0, 8, sole == 1);
        assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
        assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(1), id, NULL), MODQ_DESK_OK);
        assert_int_equal(
            modq_desk_decide(f->desk, &a, "h1", "remove", NULL, 0, NULL, T0 + MIN(5), NULL),
            MODQ_DESK_OK);
        here = dt_me_number(f, &a, T0 + MIN(29), "used_minutes", "daily");
        assert_true(here > 0.0 && here != there);
        /* The other desk's newer record arrives. */
        assert_int_equal(modq_desk_ledger_restore(f->desk, zombie, zombie_len, err, sizeof err),
                         MODQ_DESK_OK);
        assert_true(dt_me_number(f, &a, T0 + MIN(29), "used_minutes", "daily") ==
                    (sole ? here : there));
    }

    /* The sole writer hands over: a standby again, it adopts what the next desk writes. */
    dfx_desk_as(f, MIN(30), 0.0, 8, true);
    assert_int_equal(dt_add(f, "h2", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(1), id, NULL), MODQ_DESK_OK);
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "h2", "remove", NULL, 0, NULL, T0 + MIN(5), NULL),
        MODQ_DESK_OK);
    last_ledger(f, "a1", &mine, &mine_len);
    assert_int_equal(modq_desk_ledger_restore(f->desk, zombie, zombie_len, err, sizeof err),
                     MODQ_DESK_OK);
    assert_true(dt_me_number(f, &a, T0 + MIN(29), "used_minutes", "daily") != there);
    (void)modq_desk_hand_over(f->desk, "modq.review", 0, T0 + MIN(6));
    assert_int_equal(modq_desk_ledger_restore(f->desk, zombie, zombie_len, err, sizeof err),
                     MODQ_DESK_OK);
    assert_true(dt_me_number(f, &a, T0 + MIN(29), "used_minutes", "daily") == there);
    free(zombie);
    free(mine);
}

static void test_team_view_is_for_leads_and_shows_near_cap_and_support(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), b = dt_who("b1", "t1", ROLE_A),
                  c = dt_who("c1", "t2", ROLE_A), l = dt_who("l1", "t1", ROLE_L);
    char *msg = malloc(MODQ_DESK_MAX_NOTE + 100);
    Modq__V1__WellbeingEvent *e;
    json_t *team = NULL, *m;
    size_t i, seen = 0;
    char id[160];

    dfx_desk(f, MIN(60), 0.0, 8);
    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "g1", "gore", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &c, "gore", T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_escalate(f->desk, &c, "g1", "?", T0 + 10), MODQ_DESK_OK);
    memset(msg, 'm', MODQ_DESK_MAX_NOTE + 99);
    msg[MODQ_DESK_MAX_NOTE + 99] = '\0';
    assert_int_equal(modq_desk_support(f->desk, &b, msg, T0 + MIN(2)), MODQ_DESK_OK);
    assert_non_null(e = rec_wellbeing_last(&f->rec, "b1", WB(SUPPORT_REQUESTED)));
    assert_int_equal(strlen(e->message), MODQ_DESK_MAX_NOTE);
    assert_string_equal(e->team, "t1");
    modq__v1__wellbeing_event__free_unpacked(e, NULL);

    assert_int_equal(modq_desk_team(f->desk, &a, T0 + MIN(11), &team), MODQ_DESK_ERR_FORBIDDEN);
    assert_null(team);
    assert_int_equal(modq_desk_team(f->desk, &l, T0 + MIN(11), &team), MODQ_DESK_OK);
    assert_string_equal(json_string_value(json_object_get(team, "team")), "t1");
    /* c1's escalation is team t2's: not counted for t1's lead. */
    assert_int_equal(json_integer_value(json_object_get(team, "escalations")), 0);
    json_array_foreach(json_object_get(team, "associates"), i, m)
    {
        const char *who = json_string_value(json_object_get(m, "associate"));
        assert_string_not_equal(who, "c1");
        if (strcmp(who, "a1") == 0) {
            seen++;
            assert_true(json_is_true(json_object_get(m, "near_cap")));
            assert_string_equal(json_string_value(json_object_get(m, "current_item")), "h1");
            assert_true(json_is_array(json_object_get(m, "caps")));
        } else if (strcmp(who, "b1") == 0) {
            seen++;
            assert_true(json_is_false(json_object_get(m, "near_cap")));
            assert_int_equal(json_integer_value(json_object_get(m, "support_requested_ms")),
                             T0 + MIN(2));
            assert_int_equal(strlen(json_string_value(json_object_get(m, "support_message"))),
                             MODQ_DESK_MAX_NOTE);
            assert_true(json_is_null(json_object_get(m, "current_item")));
            assert_int_equal(json_integer_value(json_object_get(m, "last_seen_ms")), T0 + MIN(2));
        }
    }
    assert_int_equal(seen, 2);
    json_decref(team);
    /* The lead looking sends nothing on the associates' behalf. */
    assert_int_equal(rec_wellbeing_count(&f->rec, "a1", WB(CAP_WARNING)), 0);

    /* Taking the request up: only a lead, only of b1's team, and once. */
    modq_desk_who l2 = dt_who("l2", "t2", ROLE_L), nl = dt_who("l0", "", ROLE_L);
    assert_int_equal(modq_desk_support_ack(f->desk, &a, "b1", T0 + MIN(12)),
                     MODQ_DESK_ERR_FORBIDDEN);
    assert_int_equal(modq_desk_support_ack(f->desk, &l2, "b1", T0 + MIN(12)),
                     MODQ_DESK_ERR_NOT_FOUND);
    assert_int_equal(modq_desk_support_ack(f->desk, &nl, "b1", T0 + MIN(12)),
                     MODQ_DESK_ERR_NOT_FOUND);
    assert_int_equal(modq_desk_support_ack(f->desk, &l, "zz", T0 + MIN(12)),
                     MODQ_DESK_ERR_NOT_FOUND);
    /* A lead's own request is for another lead to take up. */
    assert_int_equal(modq_desk_support(f->desk, &l, "", T0 + MIN(12)), MODQ_DESK_OK);
    assert_int_equal(modq_desk_support_ack(f->desk, &l, "l1", T0 + MIN(12)),
                     MODQ_DESK_ERR_FORBIDDEN);
    assert_int_equal(rec_wellbeing_count(&f->rec, "b1", WB(SUPPORT_ACKNOWLEDGED)), 0);
    assert_int_equal(modq_desk_support_ack(f->desk, &l, "b1", T0 + MIN(12)), MODQ_DESK_OK);
    assert_int_equal(modq_desk_support_ack(f->desk, &l, "b1", T0 + MIN(13)), MODQ_DESK_OK);
    assert_int_equal(rec_wellbeing_count(&f->rec, "b1", WB(SUPPORT_ACKNOWLEDGED)), 1);
    assert_non_null(e = rec_wellbeing_last(&f->rec, "b1", WB(SUPPORT_ACKNOWLEDGED)));
    assert_string_equal(e->actor, "l1");
    assert_string_equal(e->team, "t1");
    modq__v1__wellbeing_event__free_unpacked(e, NULL);
    assert_int_equal(modq_desk_team(f->desk, &l, T0 + MIN(14), &team), MODQ_DESK_OK);
    json_array_foreach(json_object_get(team, "associates"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "associate")), "b1") == 0) {
            assert_int_equal(json_integer_value(json_object_get(m, "support_requested_ms")), 0);
            assert_string_equal(json_string_value(json_object_get(m, "support_message")), "");
        }
    }
    json_decref(team);
    free(msg);
}

/* The team view's member for who (borrowed from team), or NULL. */
static json_t *team_member(json_t *team, const char *who)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(team, "associates"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "associate")), who) == 0) {
            return m;
        }
    }
    return NULL;
}

/* What a support request says reaches the team's lead as it was typed, and only text: strict
 * UTF-8 without control characters, or the request is refused whole (nothing half-sent). */
static void test_support_message_reaches_the_lead_as_text_only(void **state)
{
    dfx *f = *state;
    modq_desk_who b = dt_who("b1", "t1", ROLE_A), l = dt_who("l1", "t1", ROLE_L);
    static const char *const bad[] = {
        "line one\nline two",
        "tab\there",
        "bell\a",
        "del\x7f",
        "next line \xc2\x85 (C1)",
        "overlong \xc0\xaf",
        "surrogate \xed\xa0\x80",
        "past U+10FFFF \xf4\x90\x80\x80",
        "cut \xe2\x82",
        "stray \x80 continuation",
        "\xff",
    };
    const char *said = "Ça m'a marqué — 😔 صعب";
    char cut[MODQ_DESK_MAX_NOTE + 8];
    Modq__V1__WellbeingEvent *e;
    json_t *team = NULL;

    dfx_desk(f, MIN(60), 0.0, 8);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(modq_desk_support(f->desk, &b, bad[i], T0), MODQ_DESK_ERR_INVALID_ARG);
        assert_false(modq_desk_text_ok(bad[i], strlen(bad[i])));
    }
    assert_int_equal(rec_wellbeing_count(&f->rec, "b1", WB(SUPPORT_REQUESTED)), 0);
    assert_true(modq_desk_text_ok(said, strlen(said)));
    assert_true(modq_desk_text_ok("", 0));
    assert_false(modq_desk_text_ok(NULL, 0));
    assert_false(modq_desk_text_ok("nul\0inside", 11));

    assert_int_equal(modq_desk_support(f->desk, &b, said, T0 + 1000), MODQ_DESK_OK);
    assert_non_null(e = rec_wellbeing_last(&f->rec, "b1", WB(SUPPORT_REQUESTED)));
    assert_string_equal(e->message, said);
    modq__v1__wellbeing_event__free_unpacked(e, NULL);
    assert_int_equal(modq_desk_team(f->desk, &l, T0 + 2000, &team), MODQ_DESK_OK);
    assert_string_equal(
        json_string_value(json_object_get(team_member(team, "b1"), "support_message")), said);
    json_decref(team);

    /* A bare press moments later is the same request and keeps what it said; a new message is
     * news for the leads, sent at once. */
    assert_int_equal(modq_desk_support(f->desk, &b, NULL, T0 + 3000), MODQ_DESK_OK);
    assert_int_equal(rec_wellbeing_count(&f->rec, "b1", WB(SUPPORT_REQUESTED)), 1);
    assert_int_equal(modq_desk_team(f->desk, &l, T0 + 3000, &team), MODQ_DESK_OK);
    assert_string_equal(
        json_string_value(json_object_get(team_member(team, "b1"), "support_message")), said);
    json_decref(team);
    assert_int_equal(modq_desk_support(f->desk, &b, "please call me", T0 + 4000), MODQ_DESK_OK);
    assert_int_equal(rec_wellbeing_count(&f->rec, "b1", WB(SUPPORT_REQUESTED)), 2);
    assert_int_equal(modq_desk_team(f->desk, &l, T0 + 4000, &team), MODQ_DESK_OK);
    assert_string_equal(
        json_string_value(json_object_get(team_member(team, "b1"), "support_message")),
        "please call me");
    json_decref(team);

    /* Taken up, it leaves the view; the next request starts without the old words. A message
     * over the cap is cut before a character that would not fit whole. */
    assert_int_equal(modq_desk_support_ack(f->desk, &l, "b1", T0 + 5000), MODQ_DESK_OK);
    assert_int_equal(modq_desk_support(f->desk, &b, "", T0 + 6000), MODQ_DESK_OK);
    assert_int_equal(modq_desk_team(f->desk, &l, T0 + 6000, &team), MODQ_DESK_OK);
    assert_string_equal(
        json_string_value(json_object_get(team_member(team, "b1"), "support_message")), "");
    json_decref(team);
    memset(cut, 'x', MODQ_DESK_MAX_NOTE - 1);
    memcpy(cut + MODQ_DESK_MAX_NOTE - 1, "é!", sizeof("é!"));
    assert_int_equal(modq_desk_support(f->desk, &b, cut, T0 + 7000), MODQ_DESK_OK);
    assert_int_equal(modq_desk_team(f->desk, &l, T0 + 7000, &team), MODQ_DESK_OK);
    assert_int_equal(
        strlen(json_string_value(json_object_get(team_member(team, "b1"), "support_message"))),
        MODQ_DESK_MAX_NOTE - 1);
    json_decref(team);
}

static void test_shift_ends_at_the_hard_stop_and_after_a_night_away(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    modq_desk_denial why = {MODQ_REASON_NONE, -1};
    Modq__V1__WellbeingEvent *e;
    modq_desk_result r = MODQ_DESK_OK;
    int64_t t = T0;
    char id[160], name[16];

    dfx_desk(f, MIN(60), 0.0, 64);
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof(name), "s%02d", i);
        assert_int_equal(dt_add_full(f, name, "spam", 0, T0 + i, 0, NULL, 0, i), MODQ_DESK_OK);
    }
    /* 15 minutes on an item, a 5-minute break, again: the 480-minute hard stop comes first. */
    for (int i = 0; i < 30 && (r = dt_next(f, &a, NULL, t, id, &why)) == MODQ_DESK_OK; i++) {
        assert_int_equal(
            modq_desk_decide(f->desk, &a, id, "no_violation", NULL, 0, NULL, t + MIN(15), NULL),
            MODQ_DESK_OK);
        assert_int_equal(modq_desk_break_start(f->desk, &a, t + MIN(15), NULL), MODQ_DESK_OK);
        assert_int_equal(modq_desk_break_end(f->desk, &a, t + MIN(20), NULL), MODQ_DESK_OK);
        t += MIN(20);
    }
    assert_int_equal(r, MODQ_DESK_ERR_DENIED);
    assert_int_equal(t, T0 + MIN(480));
    assert_int_equal(why.reason, MODQ_REASON_SHIFT_OVER);
    assert_int_equal(why.until_ms, T0 + MIN(480 + 600));
    assert_non_null(e = rec_wellbeing_last(&f->rec, "a1", WB(SHIFT_ENDED)));
    assert_int_equal(e->until_ms, T0 + MIN(480 + 600));
    modq__v1__wellbeing_event__free_unpacked(e, NULL);
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(1080) - 1, id, &why), MODQ_DESK_ERR_DENIED);
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(1080), id, NULL), MODQ_DESK_OK);
    assert_int_equal(rec_wellbeing_count(&f->rec, "a1", WB(SHIFT_STARTED)), 2);

    /* A shift left open overnight ends where the work did: the night was the rest. */
    assert_int_equal(
        modq_desk_decide(f->desk, &a, id, "remove", NULL, 0, NULL, T0 + MIN(1081), NULL),
        MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(1080 + 900), id, NULL), MODQ_DESK_OK);
    assert_true(id[0] != '\0');
    assert_int_equal(rec_wellbeing_count(&f->rec, "a1", WB(SHIFT_ENDED)), 2);
    assert_int_equal(rec_wellbeing_count(&f->rec, "a1", WB(SHIFT_STARTED)), 3);
}

static void test_clock_stepping_back_is_recorded_at_the_ledgers_newest_instant(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    Modq__V1__Decision *dec;
    json_t *me = NULL;
    char id[160];
    rec_msg *m;

    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(2), id, NULL), MODQ_DESK_OK);
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "h1", "remove", NULL, 0, NULL, T0 + MIN(1), NULL),
        MODQ_DESK_OK);
    assert_non_null(m = rec_last(&f->rec, REC_DECISION, "h1"));
    assert_non_null(dec = modq__v1__decision__unpack(NULL, m->len, m->buf));
    assert_int_equal(dec->decided_at_ms, T0 + MIN(2));
    modq__v1__decision__free_unpacked(dec, NULL);
    assert_int_equal(modq_desk_me(f->desk, &a, T0, &me), MODQ_DESK_OK);
    assert_int_equal(json_integer_value(json_object_get(me, "now_ms")), T0 + MIN(2));
    json_decref(me);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_break_is_due_when_continuous_review_reaches_its_limit,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_cooldown_follows_a_tier4_item, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(test_cap_warning_is_sent_once_per_crossing, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(test_breaks_start_and_end_with_events_and_ledger, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(test_sole_writer_keeps_its_ledger_until_it_hands_over,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_ledger_sent_to_the_sink_restores_into_a_fresh_desk,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_team_view_is_for_leads_and_shows_near_cap_and_support,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_support_message_reaches_the_lead_as_text_only,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_shift_ends_at_the_hard_stop_and_after_a_night_away,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(
            test_clock_stepping_back_is_recorded_at_the_ledgers_newest_instant, dfx_setup,
            dfx_teardown),
    };
    return cmocka_run_group_tests(tests, dfx_group_setup, dfx_group_teardown);
}
