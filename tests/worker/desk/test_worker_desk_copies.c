/*
 * test_worker_desk_copies.c: one review for copies (modq_desk_opts.decide_copies, in
 * worker/desk/desk_review.c). When a person decides an item, the items of the same queue still
 * waiting with the same media are decided the same way, each with its own Decision (automatic,
 * PRIOR_DECISION naming the reviewed ticket, its own ref so its offset completes); a copy on
 * someone's screen, one in another queue, and an item without media are left alone; a desk
 * without the option leaves every copy waiting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "desk_testutil.h"

/* The recorded Decision of ticket id (caller frees), or NULL. */
static Modq__V1__Decision *decision_of(dfx *f, const char *id)
{
    rec_msg *m = rec_last(&f->rec, REC_DECISION, id);
    return m ? modq__v1__decision__unpack(NULL, m->len, m->buf) : NULL;
}

static void test_deciding_one_item_decides_its_waiting_copies(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), b = dt_who("b1", "t1", ROLE_A);
    const char *labels[] = {"graphic"};
    size_t hate = (size_t)modq_policy_queue_find(f->policy, "hate");
    char id[160];
    Modq__V1__Decision *d;
    modq_desk_counts c;

    f->copies = true;
    dfx_desk(f, MIN(10), 0.0, 64);
    assert_int_equal(dt_add_full(f, "c-1", "hate", 5, T0 - 9000, 1, NULL, 0, 1), MODQ_DESK_OK);
    assert_int_equal(dt_add_full(f, "c-2", "hate", 5, T0 - 8000, 1, NULL, 0, 2), MODQ_DESK_OK);
    assert_int_equal(dt_add_full(f, "c-3", "hate", 1, T0 - 7000, 1, NULL, 0, 3), MODQ_DESK_OK);
    assert_int_equal(dt_add_full(f, "c-text", "hate", 1, T0 - 6000, 0, NULL, 0, 4), MODQ_DESK_OK);
    assert_int_equal(dt_add_full(f, "s-1", "spam", 1, T0 - 5000, 1, NULL, 0, 5), MODQ_DESK_OK);
    /* a's item says how many copies wait with it: c-2 and c-3 (c-text has no media, s-1 is in
     * another queue). */
    {
        json_t *item = NULL, *copies;
        assert_int_equal(modq_desk_next(f->desk, &a, "hate", T0, &item, NULL, NULL), MODQ_DESK_OK);
        assert_string_equal(json_string_value(json_object_get(item, "id")), "c-1");
        copies = json_object_get(item, "copies");
        assert_int_equal(json_integer_value(json_object_get(copies, "same")), 2);
        assert_int_equal(json_integer_value(json_object_get(copies, "near")), 0);
        json_decref(item);
    }
    assert_int_equal(dt_next(f, &b, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "c-2"); /* on b's screen: b decides it, not a's decision */
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "c-1", "remove", labels, 1, NULL, T0 + 5000, NULL),
        MODQ_DESK_OK);

    assert_int_equal(rec_count(&f->rec, REC_DECISION, NULL), 2);
    d = decision_of(f, "c-1");
    assert_int_equal(d->decision_source, MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_HUMAN);
    modq__v1__decision__free_unpacked(d, NULL);
    assert_non_null(d = decision_of(f, "c-3"));
    assert_int_equal(d->decision_source, MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_PRIOR_DECISION);
    assert_true(d->auto_decided);
    assert_string_equal(d->prior_ticket_id, "c-1");
    assert_int_equal(d->verdict, MODQ__V1__VERDICT__VERDICT_REMOVE);
    assert_int_equal(d->n_policy_labels, 1);
    assert_string_equal(d->policy_labels[0], "graphic");
    assert_string_equal(d->matched_hash, d->hashes->sha256); /* the same bytes */
    assert_int_equal(d->match_distance, 0);
    assert_int_equal(d->max_reveal_level, -1); /* nobody saw it */
    modq__v1__decision__free_unpacked(d, NULL);
    assert_int_equal(rec_last(&f->rec, REC_DECISION, "c-3")->ref.offset, 3);
    assert_null(rec_last(&f->rec, REC_DECISION, "c-2"));

    modq_desk_get_counts(f->desk, &c);
    assert_int_equal(c.copies_decided, 1);
    assert_int_equal(modq_desk_waiting(f->desk, hate), 1); /* c-text */
    assert_int_equal(modq_desk_waiting(f->desk, (size_t)modq_policy_queue_find(f->policy, "spam")),
                     1);
    /* b still decides c-2 themselves. */
    assert_int_equal(
        modq_desk_decide(f->desk, &b, "c-2", "restrict", NULL, 0, NULL, T0 + 6000, NULL),
        MODQ_DESK_OK);
    d = decision_of(f, "c-2");
    assert_int_equal(d->decision_source, MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_HUMAN);
    modq__v1__decision__free_unpacked(d, NULL);
}

static void test_without_the_option_copies_wait_for_a_person(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    size_t hate = (size_t)modq_policy_queue_find(f->policy, "hate");
    char id[160];
    json_t *item = NULL;

    assert_int_equal(dt_add_full(f, "c-1", "hate", 5, T0 - 9000, 1, NULL, 0, 1), MODQ_DESK_OK);
    assert_int_equal(dt_add_full(f, "c-2", "hate", 5, T0 - 8000, 1, NULL, 0, 2), MODQ_DESK_OK);
    assert_int_equal(modq_desk_next(f->desk, &a, "hate", T0, &item, NULL, NULL), MODQ_DESK_OK);
    assert_null(json_object_get(item, "copies")); /* nothing is said of copies: none is decided */
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(item, "id")));
    json_decref(item);
    assert_int_equal(modq_desk_decide(f->desk, &a, id, "remove", NULL, 0, NULL, T0 + 5000, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(rec_count(&f->rec, REC_DECISION, NULL), 1);
    assert_int_equal(modq_desk_waiting(f->desk, hate), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deciding_one_item_decides_its_waiting_copies,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_without_the_option_copies_wait_for_a_person, dfx_setup,
                                        dfx_teardown),
    };
    return cmocka_run_group_tests(tests, dfx_group_setup, dfx_group_teardown);
}
