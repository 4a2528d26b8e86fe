/*
 * test_worker_desk.c: the review desk's items, queues and leases (worker/desk/desk.c,
 * worker/desk/desk_review.c) with the real policy engine and real prepared items: which item next()
 * hands out and to whom, queues a person may not take, lease expiry to the millisecond, hand-backs,
 * the size cap, revoked partitions, tickets decided elsewhere, the pause while Kafka confirms
 * nothing, that every item opens at the heaviest blur, and that an item whose answer cannot be
 * built is set aside without a lease.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "desk_testutil.h"

static void test_next_gives_highest_priority_then_oldest_and_same_item_while_leased(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), b = dt_who("b1", "t1", ROLE_A),
                  c = dt_who("c1", "t1", ROLE_A), e = dt_who("e1", "t1", ROLE_A);
    json_t *item = NULL;
    char id[160];

    assert_int_equal(dt_add(f, "h-low", "hate", 1, T0 - 5000), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h-new", "hate", 5, T0 - 500), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h-old", "hate", 5, T0 - 900), MODQ_DESK_OK);

    assert_int_equal(modq_desk_next(f->desk, &a, "hate", T0, &item, NULL, NULL), MODQ_DESK_OK);
    assert_string_equal(json_string_value(json_object_get(item, "id")), "h-old");
    assert_int_equal(json_integer_value(json_object_get(item, "level")), 3);
    assert_int_equal(json_integer_value(json_object_get(item, "min_level")), 0);
    assert_true(json_is_true(json_object_get(item, "reason_required")));
    /* Tier 3 allows colour views: preparation rendered colour beside greyscale. */
    assert_true(json_is_true(json_object_get(item, "colour_available")));
    assert_true(json_is_true(json_object_get(item, "has_media")));
    assert_true(json_is_null(json_object_get(item, "prior")));
    assert_int_equal(json_integer_value(json_object_get(item, "lease_expires_ms")), T0 + MIN(10));
    json_decref(item);

    /* Asked again while leased: the same item, its lease renewed from now. */
    assert_int_equal(modq_desk_next(f->desk, &a, NULL, T0 + 1000, &item, NULL, NULL), MODQ_DESK_OK);
    assert_string_equal(json_string_value(json_object_get(item, "id")), "h-old");
    assert_int_equal(json_integer_value(json_object_get(item, "lease_expires_ms")),
                     T0 + 1000 + MIN(10));
    json_decref(item);

    assert_int_equal(dt_next(f, &b, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h-new");
    assert_int_equal(dt_next(f, &c, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h-low");
    assert_int_equal(dt_next(f, &e, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "");

    assert_int_equal(rec_audit_count(&f->rec, "h-old", AU(LEASED)), 1);
    assert_int_equal(rec_audit_count(&f->rec, "h-old", AU(SHOWN)), 1);
    assert_int_equal(rec_wellbeing_count(&f->rec, "a1", WB(SHIFT_STARTED)), 1);
    assert_non_null(rec_last(&f->rec, REC_LEDGER, "a1"));
}

static void test_next_prefers_another_category_when_priorities_tie(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    char id[160];

    assert_int_equal(dt_add(f, "h1", "hate", 1, T0 - 9000), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h1");
    assert_int_equal(modq_desk_decide(f->desk, &a, "h1", "remove", NULL, 0, NULL, T0 + 1000, NULL),
                     MODQ_DESK_OK);

    /* hate is older, gore is another category: gore first. */
    assert_int_equal(dt_add(f, "h2", "hate", 1, T0 - 8000), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "g1", "gore", 1, T0 - 100), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0 + 2000, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "g1");
    assert_int_equal(modq_desk_release(f->desk, &a, "g1", T0 + 3000), MODQ_DESK_OK);

    /* Priority still comes first. */
    assert_int_equal(dt_add(f, "g2", "gore", 9, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0 + 4000, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "g2");
}

static void test_item_is_never_leased_to_two_people(void **state)
{
    dfx *f = *state;
    char ids[6][160], name[16];

    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        assert_int_equal(dt_add_full(f, name, "spam", 0, T0, 0, NULL, 0, i), MODQ_DESK_OK);
    }
    for (int i = 0; i < 6; i++) {
        modq_desk_who w;
        snprintf(name, sizeof(name), "p%d", i);
        w = dt_who(name, "t1", ROLE_A);
        assert_int_equal(dt_next(f, &w, "spam", T0, ids[i], NULL), MODQ_DESK_OK);
        for (int j = 0; j < i; j++) {
            assert_true(ids[i][0] == '\0' || strcmp(ids[i], ids[j]) != 0);
        }
    }
    for (int i = 0; i < 5; i++) {
        assert_true(ids[i][0] != '\0');
    }
    assert_string_equal(ids[5], "");
}

static void test_queues_denied_for_role_skill_or_opt_out_are_skipped(void **state)
{
    dfx *f = *state;
    static const char *const opt[] = {"nudity"};
    static const char *const csam[] = {"csam_trained"};
    static const char *const ar[] = {"ar"};
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    modq_desk_who s = dt_who("s1", "t1", ROLE_A), l = dt_who("l1", "t1", ROLE_L);
    modq_desk_who x = dt_who("x1", "t1", ROLE_A);
    modq_desk_denial why = {MODQ_REASON_NONE, -1};
    char id[160];

    a.opt_outs = opt;
    a.nopt_outs = 1;
    s.skills = csam;
    s.nskills = 1;
    x.skills = ar;
    x.nskills = 1;
    assert_int_equal(dt_add(f, "lead-only", "leads", 9, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "c1", "csam", 9, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "n1", "nudity", 9, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add_full(f, "ar1", "hate", 9, T0, 1, "ar", 0, 1), MODQ_DESK_OK);

    /* Nothing a1 may take: an empty answer, not a denial. */
    assert_int_equal(dt_next(f, &a, NULL, T0, id, &why), MODQ_DESK_OK);
    assert_string_equal(id, "");
    assert_int_equal(dt_add(f, "sp1", "spam", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, &why), MODQ_DESK_OK);
    assert_string_equal(id, "sp1");
    assert_int_equal(modq_desk_release(f->desk, &a, "sp1", T0), MODQ_DESK_OK);

    /* Asked by name, the refusal is the answer. */
    assert_int_equal(dt_next(f, &a, "csam", T0, id, &why), MODQ_DESK_ERR_DENIED);
    assert_int_equal(why.reason, MODQ_REASON_SKILL);
    assert_int_equal(why.until_ms, 0);
    assert_int_equal(dt_next(f, &a, "leads", T0, id, &why), MODQ_DESK_ERR_DENIED);
    assert_int_equal(why.reason, MODQ_REASON_ROLE);
    assert_int_equal(dt_next(f, &a, "leads", T0, id, &why), MODQ_DESK_ERR_DENIED);
    assert_int_equal(dt_next(f, &a, "nudity", T0, id, &why), MODQ_DESK_ERR_DENIED);
    assert_int_equal(why.reason, MODQ_REASON_OPT_OUT);
    assert_int_equal(dt_next(f, &a, "hate", T0, id, &why), MODQ_DESK_ERR_DENIED);
    assert_int_equal(why.reason, MODQ_REASON_SKILL); /* the ticket's own required skill */
    /* One event per change of reason: SKILL, ROLE, OPT_OUT, SKILL. */
    assert_int_equal(rec_wellbeing_count(&f->rec, "a1", WB(POLICY_DENIAL)), 4);

    assert_int_equal(dt_next(f, &s, "csam", T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "c1");
    assert_int_equal(dt_next(f, &l, NULL, T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "lead-only");
    assert_int_equal(dt_next(f, &x, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "ar1");
}

static void test_unknown_queue_virtual_queue_roles_and_closing(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    char id[160];

    assert_int_equal(dt_next(f, &a, "no_such_queue", T0, id, NULL), MODQ_DESK_ERR_UNKNOWN_QUEUE);
    assert_int_equal(dt_next(f, &a, MODQ_DESK_QUEUE_ESCALATIONS, T0, id, NULL),
                     MODQ_DESK_ERR_FORBIDDEN);
    assert_int_equal(dt_next(f, &a, MODQ_DESK_QUEUE_QA, T0, id, NULL), MODQ_DESK_ERR_FORBIDDEN);
    a.id = "";
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_ERR_INVALID_ARG);
    a.id = "a1";
    modq_desk_close(f->desk);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_ERR_UNAVAILABLE);
}

static void test_lease_expires_at_exactly_its_instant(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), b = dt_who("b1", "t1", ROLE_A);
    modq_desk_counts n;
    size_t ledgers;
    char id[160];

    dfx_desk(f, MIN(1), 0.0, 8);
    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    ledgers = rec_count(&f->rec, REC_LEDGER, "a1");
    assert_int_equal(modq_desk_tick(f->desk, T0 + MIN(1) - 1), 0);
    assert_int_equal(dt_next(f, &b, NULL, T0 + MIN(1) - 1, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "");
    assert_int_equal(modq_desk_tick(f->desk, T0 + MIN(1)), 1);
    assert_int_equal(rec_audit_count(&f->rec, "h1", AU(LEASE_EXPIRED)), 1);
    assert_int_equal(rec_count(&f->rec, REC_LEDGER, "a1"), ledgers + 1);
    modq_desk_get_counts(f->desk, &n);
    assert_int_equal(n.leases_expired, 1);
    assert_int_equal(n.leased, 0);
    assert_int_equal(n.waiting, 1);
    /* The lease is gone: a1 can no longer act on it, b1 can take it. */
    assert_int_equal(modq_desk_release(f->desk, &a, "h1", T0 + MIN(1)), MODQ_DESK_ERR_FORBIDDEN);
    assert_int_equal(dt_next(f, &b, NULL, T0 + MIN(1), id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h1");
}

static void test_lease_never_outlives_the_policy_deadline(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    json_t *item = NULL;
    uint8_t *data = NULL;
    size_t len;
    const char *mime;
    int level;

    dfx_desk(f, MIN(60), 0.0, 8);
    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(modq_desk_next(f->desk, &a, NULL, T0, &item, NULL, NULL), MODQ_DESK_OK);
    /* 20 minutes of continuous review at most: the lease ends there, not after 60. */
    assert_int_equal(json_integer_value(json_object_get(item, "lease_expires_ms")), T0 + MIN(20));
    json_decref(item);
    assert_int_equal(modq_desk_media(f->desk, &a, "h1", -1, false, "", T0 + MIN(15), &data, &len,
                                     &mime, &level, NULL, NULL),
                     MODQ_DESK_OK);
    free(data);
    assert_int_equal(modq_desk_tick(f->desk, T0 + MIN(20) - 1), 0);
    assert_int_equal(modq_desk_tick(f->desk, T0 + MIN(20)), 1);
}

static void test_release_and_release_all_hand_items_back(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), b = dt_who("b1", "t1", ROLE_A);
    size_t hate = (size_t)modq_policy_queue_find(f->policy, "hate");
    char id[160];

    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h2", "hate", 0, T0 + 1), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_waiting(f->desk, hate), 1);
    assert_int_equal(modq_desk_release(f->desk, &a, id, T0 + 10), MODQ_DESK_OK);
    assert_int_equal(rec_audit_count(&f->rec, "h1", AU(RELEASED)), 1);
    assert_int_equal(modq_desk_waiting(f->desk, hate), 2);
    assert_int_equal(modq_desk_release(f->desk, &a, "h1", T0 + 10), MODQ_DESK_ERR_FORBIDDEN);

    assert_int_equal(dt_next(f, &a, NULL, T0 + 20, id, NULL), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &b, NULL, T0 + 20, id, NULL), MODQ_DESK_OK);
    modq_desk_close(f->desk);
    assert_int_equal(modq_desk_release_all(f->desk, T0 + 30), 2);
    assert_int_equal(modq_desk_waiting(f->desk, hate), 2);
    assert_int_equal(rec_audit_count(&f->rec, "h2", AU(RELEASED)), 1);
    assert_int_equal(modq_desk_release_all(f->desk, T0 + 40), 0);
}

static void test_full_desk_and_redelivered_ticket_are_refused(void **state)
{
    dfx *f = *state;
    modq_desk_counts n;

    dfx_desk(f, MIN(10), 0.0, 3);
    assert_int_equal(dt_add(f, "a", "spam", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "b", "spam", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "a", "hate", 0, T0), MODQ_DESK_ERR_INVALID_ARG);
    assert_int_equal(dt_add(f, "c", "spam", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "d", "spam", 0, T0), MODQ_DESK_ERR_FULL);
    modq_desk_get_counts(f->desk, &n);
    assert_int_equal(n.waiting, 3);
}

static void test_drop_partition_keeps_leased_items(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    char id[160];
    rec_msg *m;

    assert_int_equal(dt_add_full(f, "p0-a", "hate", 5, T0, 1, NULL, 0, 10), MODQ_DESK_OK);
    assert_int_equal(dt_add_full(f, "p0-b", "hate", 0, T0, 1, NULL, 0, 11), MODQ_DESK_OK);
    assert_int_equal(dt_add_full(f, "p0-c", "gore", 0, T0, 1, NULL, 0, 12), MODQ_DESK_OK);
    assert_int_equal(dt_add_full(f, "p1-a", "hate", 0, T0, 1, NULL, 1, 10), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "p0-a");

    assert_int_equal(modq_desk_drop_partition(f->desk, "t.hate", 0), 1);
    assert_int_equal(modq_desk_drop_partition(f->desk, "t.hate", 0), 0);
    assert_int_equal(modq_desk_waiting(f->desk, (size_t)modq_policy_queue_find(f->policy, "hate")),
                     1);
    assert_int_equal(modq_desk_waiting(f->desk, (size_t)modq_policy_queue_find(f->policy, "gore")),
                     1);
    /* The lease goes on, and its decision still carries its offset. */
    assert_int_equal(modq_desk_decide(f->desk, &a, "p0-a", "remove", NULL, 0, NULL, T0 + 5, NULL),
                     MODQ_DESK_OK);
    assert_non_null(m = rec_last(&f->rec, REC_DECISION, "p0-a"));
    assert_string_equal(m->ref.topic, "t.hate");
    assert_int_equal(m->ref.partition, 0);
    assert_int_equal(m->ref.offset, 10);
}

static void test_forget_ticket_drops_waiting_and_leased_items(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), b = dt_who("b1", "t1", ROLE_A);
    modq_desk_ref ref;
    json_t *me = NULL;
    char id[160];

    assert_int_equal(dt_add_full(f, "w1", "hate", 0, T0, 1, NULL, 2, 20), MODQ_DESK_OK);
    assert_int_equal(dt_add_full(f, "l1", "gore", 0, T0, 1, NULL, 3, 30), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, "gore", T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "l1");

    assert_int_equal(modq_desk_forget_ticket(f->desk, "w1", &ref), 1);
    assert_string_equal(ref.topic, "t.hate");
    assert_int_equal(ref.partition, 2);
    assert_int_equal(ref.offset, 20);
    assert_int_equal(dt_next(f, &b, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "");

    assert_int_equal(modq_desk_forget_ticket(f->desk, "l1", &ref), 1);
    assert_int_equal(ref.offset, 30);
    assert_int_equal(modq_desk_forget_ticket(f->desk, "l1", &ref), 0);
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "l1", "remove", NULL, 0, NULL, T0 + MIN(1), NULL),
        MODQ_DESK_ERR_NOT_FOUND);
    /* It left a1's screen when a1 next called, and nothing more was published for it. */
    assert_int_equal(modq_desk_me(f->desk, &a, T0 + MIN(1), &me), MODQ_DESK_OK);
    assert_true(json_is_null(json_object_get(me, "current_item")));
    json_decref(me);
    assert_int_equal(rec_count(&f->rec, REC_DECISION, NULL), 0);
    assert_int_equal(rec_audit_count(&f->rec, "l1", AU(RELEASED)), 1);
    assert_int_equal(dt_next(f, &a, NULL, T0 + MIN(1), id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "");
    assert_int_equal(modq_desk_forget_ticket(f->desk, "never-seen", NULL), 0);
}

/* Every item opens at the heaviest blur, a spam item (tier default: clear) too: the tier's level
 * is only what a first "show" opens at (open_level), and asking for it is an audited reveal. A
 * fetch that names no level gets the heaviest again, never what an earlier reveal left. */
static void test_every_item_opens_at_the_heaviest_level_and_clearer_is_asked_for(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    json_t *item = NULL, *status = NULL;
    uint8_t *data = NULL;
    size_t len;
    const char *mime;
    int level = -1;

    assert_int_equal(dt_add(f, "s1", "spam", 0, T0), MODQ_DESK_OK);
    assert_int_equal(modq_desk_next(f->desk, &a, NULL, T0, &item, &status, NULL), MODQ_DESK_OK);
    assert_int_equal(json_integer_value(json_object_get(item, "level")), 3);
    assert_int_equal(json_integer_value(json_object_get(item, "open_level")), 0);
    json_decref(item);
    json_decref(status);
    assert_int_equal(modq_desk_media(f->desk, &a, "s1", -1, false, "", T0 + 10, &data, &len, &mime,
                                     &level, NULL, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(level, 3);
    free(data);
    assert_int_equal(rec_audit_count(&f->rec, "s1", AU(REVEAL)), 0);

    assert_int_equal(modq_desk_media(f->desk, &a, "s1", 0, false, "", T0 + 20, &data, &len, &mime,
                                     &level, NULL, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(level, 0);
    free(data);
    assert_int_equal(rec_audit_count(&f->rec, "s1", AU(REVEAL)), 1);
    /* A reload asks without a level: the heaviest, not the clear view left on the server. */
    assert_int_equal(modq_desk_media(f->desk, &a, "s1", -1, false, "", T0 + 30, &data, &len, &mime,
                                     &level, NULL, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(level, 3);
    free(data);
    assert_int_equal(rec_audit_count(&f->rec, "s1", AU(REVEAL)), 1);
}

/* Paused: no new lease for anyone, but a person's own item comes back and can be decided. */
static void test_paused_desk_hands_out_nothing_new_but_keeps_what_is_leased(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), b = dt_who("b1", "t1", ROLE_A),
                  l = dt_who("l1", "t1", ROLE_L);
    char id[160];

    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h2", "hate", 0, T0 + 1), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h1");
    modq_desk_set_paused(f->desk, true);
    assert_int_equal(dt_next(f, &b, NULL, T0 + 10, id, NULL), MODQ_DESK_ERR_PAUSED);
    assert_int_equal(dt_next(f, &l, "escalations", T0 + 10, id, NULL), MODQ_DESK_ERR_PAUSED);
    assert_int_equal(dt_next(f, &a, NULL, T0 + 20, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h1"); /* the lease renewed, the same item */
    assert_int_equal(modq_desk_decide(f->desk, &a, "h1", "remove", NULL, 0, NULL, T0 + 30, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(rec_count(&f->rec, REC_DECISION, "h1"), 1);
    /* Decided, a has nothing on screen: nothing new either. */
    assert_int_equal(dt_next(f, &a, NULL, T0 + 40, id, NULL), MODQ_DESK_ERR_PAUSED);
    assert_string_equal(modq_desk_strerror(MODQ_DESK_ERR_PAUSED),
                        "paused: decisions cannot be published now");
    modq_desk_set_paused(f->desk, false);
    assert_int_equal(dt_next(f, &b, NULL, T0 + 50, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h2");
}

/* An item whose answer cannot be built (its caption is not UTF-8: it got past preparation) is
 * never leased: next serves the others, and nobody's lease, ledger or audit shows it. */
static void test_an_item_whose_answer_cannot_be_built_is_never_leased(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), b = dt_who("b1", "t1", ROLE_A);
    modq_desk_ref ref = {.topic = "t.hate", .partition = 0, .offset = 7}, held;
    modq_prepared *p = dt_prepare(f, "poison", "hate", 9, T0 - 1000, 1, NULL);
    modq_desk_counts c;
    char id[160];

    assert_non_null(p);
    assert_int_equal(p->kind, MODQ_PREPARED_REVIEW);
    free(p->ticket->text);
    p->ticket->text = strdup("caption \xff");
    assert_int_equal(modq_desk_add(f->desk, p, &ref, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "good", "hate", 1, T0), MODQ_DESK_OK);

    /* The poisoned item ranks first; the good one is served all the same. */
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "good");
    assert_int_equal(dt_next(f, &b, NULL, T0 + 1, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "");
    assert_int_equal(dt_next(f, &b, "hate", T0 + 2, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "");
    modq_desk_get_counts(f->desk, &c);
    assert_int_equal(c.leased, 1);
    assert_int_equal(c.waiting, 0);
    assert_int_equal(c.unservable, 1);
    assert_int_equal(modq_desk_waiting(f->desk, (size_t)modq_policy_queue_find(f->policy, "hate")),
                     0);
    assert_int_equal(rec_audit_count(&f->rec, "poison", AU(LEASED)), 0);
    assert_int_equal(rec_audit_count(&f->rec, "poison", AU(SHOWN)), 0);
    assert_int_equal(rec_wellbeing_count(&f->rec, "b1", WB(SHIFT_STARTED)), 0);
    /* Still held, its offset not completed: a redelivery meets preparation, which refuses it. */
    assert_int_equal(modq_desk_holds(f->desk, "poison", &held), 1);
    assert_int_equal(held.offset, 7);
    /* Nobody was stuck with it: a1 decides, and the desk goes on. */
    assert_int_equal(modq_desk_decide(f->desk, &a, "good", "remove", NULL, 0, NULL, T0 + 3, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "next", "hate", 1, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &b, NULL, T0 + 4, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "next");
}

/* The floor's age figure: the oldest ticket waiting in a queue, whatever order the items came in;
 * a leased one does not wait. */
static void test_oldest_waiting_is_the_oldest_ticket_not_leased(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    size_t hate = (size_t)modq_policy_queue_find(f->policy, "hate");
    size_t spam = (size_t)modq_policy_queue_find(f->policy, "spam");
    char id[160];

    assert_int_equal(modq_desk_oldest_waiting_ms(f->desk, hate), -1);
    assert_int_equal(dt_add(f, "h-new", "hate", 5, T0 - 500), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h-older", "hate", 1, T0 - 9000), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h-old", "hate", 9, T0 - 5000), MODQ_DESK_OK);
    assert_int_equal(modq_desk_oldest_waiting_ms(f->desk, hate), T0 - 9000);
    assert_int_equal(modq_desk_oldest_waiting_ms(f->desk, spam), -1);
    assert_int_equal(modq_desk_oldest_waiting_ms(f->desk, 999), -1);
    /* The highest priority goes first (h-old); h-older still waits. */
    assert_int_equal(dt_next(f, &a, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h-old");
    assert_int_equal(modq_desk_oldest_waiting_ms(f->desk, hate), T0 - 9000);
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "h-old", "no_violation", NULL, 0, NULL, T0 + 1000, NULL),
        MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, "hate", T0 + 2000, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h-new"); /* priority 5 before 1 */
    assert_int_equal(modq_desk_oldest_waiting_ms(f->desk, hate), T0 - 9000);
}

/* A near copy of removed media goes to a person with the earlier decision beside it, and how far
 * its media is. */
static void test_next_shows_a_near_copys_prior_decision(void **state)
{
    dfx *f = *state;
    modq_desk_who e = dt_who("e1", "t1", ROLE_A);
    json_t *item = NULL;
    /* A near copy of removed media, shown beside its earlier decision: how far, too. */
    modq_desk_ref ref = {.topic = "t.hate", .partition = 0, .offset = 99};
    modq_prepared *p = dt_prepare(f, "v-near", "hate", 9, T0, 1, NULL);
    json_t *prior;
    p->has_prior = 1;
    p->prior_verdict = 2;
    p->prior_distance = 22;
    snprintf(p->prior_ticket_id, sizeof p->prior_ticket_id, "removed-1");
    assert_int_equal(modq_desk_add(f->desk, p, &ref, T0), MODQ_DESK_OK);
    assert_int_equal(modq_desk_next(f->desk, &e, "hate", T0, &item, NULL, NULL), MODQ_DESK_OK);
    assert_non_null(item);
    prior = json_object_get(item, "prior");
    assert_string_equal(json_string_value(json_object_get(prior, "ticket_id")), "removed-1");
    assert_string_equal(json_string_value(json_object_get(prior, "verdict")), "remove");
    assert_int_equal(json_integer_value(json_object_get(prior, "distance")), 22);
    json_decref(item);
    assert_int_equal(modq_desk_release(f->desk, &e, "v-near", T0), MODQ_DESK_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_every_item_opens_at_the_heaviest_level_and_clearer_is_asked_for, dfx_setup,
            dfx_teardown),
        cmocka_unit_test_setup_teardown(
            test_next_gives_highest_priority_then_oldest_and_same_item_while_leased, dfx_setup,
            dfx_teardown),
        cmocka_unit_test_setup_teardown(test_next_shows_a_near_copys_prior_decision, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(test_oldest_waiting_is_the_oldest_ticket_not_leased,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_next_prefers_another_category_when_priorities_tie,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_item_is_never_leased_to_two_people, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(test_queues_denied_for_role_skill_or_opt_out_are_skipped,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_queue_virtual_queue_roles_and_closing,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_lease_expires_at_exactly_its_instant, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(test_lease_never_outlives_the_policy_deadline, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(test_release_and_release_all_hand_items_back, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(test_full_desk_and_redelivered_ticket_are_refused,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_drop_partition_keeps_leased_items, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(test_forget_ticket_drops_waiting_and_leased_items,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(
            test_paused_desk_hands_out_nothing_new_but_keeps_what_is_leased, dfx_setup,
            dfx_teardown),
        cmocka_unit_test_setup_teardown(test_an_item_whose_answer_cannot_be_built_is_never_leased,
                                        dfx_setup, dfx_teardown),
    };
    return cmocka_run_group_tests(tests, dfx_group_setup, dfx_group_teardown);
}
