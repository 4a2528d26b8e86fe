/*
 * test_worker_desk_review.c: what a person does with an item on the desk
 * (worker/desk/desk_review.c, desk_view.c): reveals under the policy (typed reasons, colour views
 * and their exposure, the tier's clearest level), views that go back to heavier blur, the Decision
 * a person publishes, and the second review of a QA sample. Escalation and others kept off an item:
 * test_worker_desk_handover.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "desk_testutil.h"
#include "proto/ledger.pb-c.h"

#include <math.h>

/* The rendition of level, in colour or not, made independently of the desk from the fixture's
 * image (the greyscale bytes are the same whether a colour ladder is made beside them or not). */
static void expect_view(const dfx *f, int level, bool colour, const uint8_t *data, size_t len)
{
    modq_media_opts *o = modq_opts_copy(f->opts);
    modq_media *m = NULL;
    const uint8_t *want;
    size_t want_len;

    assert_non_null(o);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_COLOUR_TOO, 1), MODQ_BLUR_OK);
    assert_int_equal(modq_media_process(o, f->img, f->img_len, &m, NULL, 0), MODQ_BLUR_OK);
    assert_int_equal(modq_media_render(m, o, NULL, 0), MODQ_BLUR_OK);
    if (colour) {
        assert_int_equal(modq_media_rendition_colour(m, level, &want, &want_len, NULL, NULL),
                         MODQ_BLUR_OK);
    } else {
        assert_int_equal(modq_media_rendition(m, level, &want, &want_len, NULL, NULL),
                         MODQ_BLUR_OK);
    }
    assert_int_equal(len, want_len);
    assert_memory_equal(data, want, len);
    modq_media_free(m);
    modq_opts_free(o);
}

static void expect_rendition(const dfx *f, int level, const uint8_t *data, size_t len)
{
    expect_view(f, level, false, data, len);
}

static void test_full_reveal_needs_a_typed_reason_and_is_audited_with_it(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), b = dt_who("b1", "t1", ROLE_A);
    modq_desk_denial why = {MODQ_REASON_NONE, -1};
    Modq__V1__AuditEvent *e;
    modq_desk_counts n;
    uint8_t *data = NULL;
    size_t len = 0;
    const char *mime = NULL;
    int level = -1;
    char id[160];

    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "n1", "nudity", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_reveal(f->desk, &a, "h1", 0, false, "", T0 + 10, &why),
                     MODQ_DESK_ERR_DENIED);
    assert_int_equal(why.reason, MODQ_REASON_NEEDS_REASON);
    assert_int_equal(why.until_ms, 0);
    assert_int_equal(modq_desk_media(f->desk, &a, "h1", 0, false, NULL, T0 + 20, &data, &len, &mime,
                                     &level, NULL, &why),
                     MODQ_DESK_ERR_DENIED);
    assert_null(data);
    assert_non_null(e = rec_audit_last(&f->rec, "h1", AU(REVEAL_DENIED)));
    assert_string_equal(e->reason, "NEEDS_REASON");
    assert_int_equal(e->reveal_level, 0);
    modq__v1__audit_event__free_unpacked(e, NULL);
    /* White space is not a reason; and the same refusal again is counted, not audited again. */
    assert_int_equal(modq_desk_reveal(f->desk, &a, "h1", 0, false, " \t\n", T0 + 25, &why),
                     MODQ_DESK_ERR_DENIED);
    assert_int_equal(why.reason, MODQ_REASON_NEEDS_REASON);
    assert_int_equal(rec_audit_count(&f->rec, "h1", AU(REVEAL_DENIED)), 1);

    assert_int_equal(
        modq_desk_reveal(f->desk, &a, "h1", 0, false, "confirming the symbol", T0 + 30, &why),
        MODQ_DESK_OK);
    assert_non_null(e = rec_audit_last(&f->rec, "h1", AU(REVEAL)));
    assert_string_equal(e->reason, "confirming the symbol");
    assert_string_equal(e->actor, "a1");
    assert_int_equal(e->reveal_level, 0);
    assert_false(e->colour);
    modq__v1__audit_event__free_unpacked(e, NULL);
    assert_int_equal(modq_desk_media(f->desk, &a, "h1", 0, false, "", T0 + 40, &data, &len, &mime,
                                     &level, NULL, &why),
                     MODQ_DESK_OK);
    assert_int_equal(level, 0);
    assert_string_equal(mime, "image/webp");
    expect_rendition(f, 0, data, len);
    free(data);
    modq_desk_get_counts(f->desk, &n);
    assert_int_equal(n.reveals[0], 1);
    assert_int_equal(n.denials[MODQ_REASON_NEEDS_REASON], 3);

    /* Tier 2 may be revealed down to level 1 only, reason or not. */
    assert_int_equal(dt_next(f, &b, "nudity", T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_reveal(f->desk, &b, "n1", 0, false, "reason", T0 + 50, &why),
                     MODQ_DESK_ERR_DENIED);
    assert_int_equal(why.reason, MODQ_REASON_REVEAL_LEVEL);
    assert_int_equal(modq_desk_reveal(f->desk, &b, "n1", 1, false, "", T0 + 60, &why),
                     MODQ_DESK_OK);
}

static void test_colour_is_denied_for_tier4_and_served_otherwise(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), b = dt_who("b1", "t1", ROLE_A);
    modq_desk_denial why = {MODQ_REASON_NONE, -1};
    Modq__V1__AuditEvent *e;
    json_t *item = NULL;
    uint8_t *data = NULL;
    size_t len;
    const char *mime;
    int level = -1;

    assert_int_equal(dt_add(f, "x1", "terror", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(modq_desk_next(f->desk, &a, "terror", T0, &item, NULL, NULL), MODQ_DESK_OK);
    /* Tier 4 never gets colour renditions, and says so. */
    assert_true(json_is_false(json_object_get(item, "colour_allowed")));
    assert_true(json_is_false(json_object_get(item, "colour_available")));
    json_decref(item);
    assert_int_equal(modq_desk_media(f->desk, &a, "x1", -1, true, "need colour", T0 + 10, &data,
                                     &len, &mime, &level, NULL, &why),
                     MODQ_DESK_ERR_DENIED);
    assert_int_equal(why.reason, MODQ_REASON_COLOUR);
    assert_null(data);
    assert_non_null(e = rec_audit_last(&f->rec, "x1", AU(REVEAL_DENIED)));
    assert_true(e->colour);
    assert_string_equal(e->reason, "COLOUR");
    modq__v1__audit_event__free_unpacked(e, NULL);

    /* Tier 3 allows colour: the colour rendition of the level is served, as a colour reveal. */
    assert_int_equal(modq_desk_next(f->desk, &b, "hate", T0, &item, NULL, NULL), MODQ_DESK_OK);
    assert_true(json_is_true(json_object_get(item, "colour_allowed")));
    assert_true(json_is_true(json_object_get(item, "colour_available")));
    json_decref(item);
    assert_int_equal(modq_desk_media(f->desk, &b, "h1", 3, true, "", T0 + 10, &data, &len, &mime,
                                     &level, NULL, &why),
                     MODQ_DESK_OK);
    assert_int_equal(level, 3);
    assert_string_equal(mime, "image/webp");
    expect_view(f, 3, true, data, len);
    free(data);
    assert_non_null(e = rec_audit_last(&f->rec, "h1", AU(REVEAL)));
    assert_true(e->colour);
    assert_int_equal(e->reveal_level, 3);
    assert_string_equal(e->actor, "b1");
    modq__v1__audit_event__free_unpacked(e, NULL);
    /* The same view again is no new reveal; back to greyscale is none either. */
    assert_int_equal(modq_desk_media(f->desk, &b, "h1", -1, true, "", T0 + 20, &data, &len, &mime,
                                     &level, NULL, &why),
                     MODQ_DESK_OK);
    expect_view(f, 3, true, data, len);
    free(data);
    assert_int_equal(modq_desk_media(f->desk, &b, "h1", -1, false, "", T0 + 30, &data, &len, &mime,
                                     &level, NULL, &why),
                     MODQ_DESK_OK);
    assert_int_equal(level, 3);
    expect_view(f, 3, false, data, len);
    free(data);
    assert_int_equal(rec_audit_count(&f->rec, "h1", AU(REVEAL)), 1);
    /* A deliberate reveal may ask for colour too, and is audited with it. */
    assert_int_equal(modq_desk_reveal(f->desk, &b, "h1", 1, true, "", T0 + 40, &why), MODQ_DESK_OK);
    assert_non_null(e = rec_audit_last(&f->rec, "h1", AU(REVEAL)));
    assert_true(e->colour);
    assert_int_equal(e->reveal_level, 1);
    modq__v1__audit_event__free_unpacked(e, NULL);
    assert_int_equal(modq_desk_media(f->desk, &b, "h1", 1, true, "", T0 + 50, &data, &len, &mime,
                                     &level, NULL, &why),
                     MODQ_DESK_OK);
    assert_int_equal(level, 1);
    expect_view(f, 1, true, data, len);
    free(data);
    assert_int_equal(rec_audit_count(&f->rec, "h1", AU(REVEAL)), 2);
}

/* The last segment of who's last published ledger: its level and colour. */
static void expect_ledger_view(dfx *f, const char *who, int level, bool colour)
{
    rec_msg *m = rec_last(&f->rec, REC_LEDGER, who);
    Modq__V1__Ledger *l;
    const Modq__V1__LedgerSegment *seg;

    assert_non_null(m);
    assert_non_null(l = modq__v1__ledger__unpack(NULL, m->len, m->buf));
    assert_true(l->item_open);
    assert_true(l->n_segments > 0);
    seg = l->segments[l->n_segments - 1];
    assert_int_equal(seg->reveal_level, level);
    assert_int_equal(seg->colour, colour);
    modq__v1__ledger__free_unpacked(l, NULL);
}

/* A colour view is recorded as colour: the ledger says so, and daily exposure grows by the
 * policy's colour factor (2 in short.yaml) faster than the same time in greyscale; back in
 * greyscale it grows as greyscale again. */
static void test_colour_view_counts_more_exposure_than_grey(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), b = dt_who("b1", "t1", ROLE_A);
    uint8_t *data = NULL;
    size_t len;
    const char *mime;
    int level = -1;
    double grey, colour, grey2, colour2;
    char id[160];

    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h2", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h1");
    assert_int_equal(dt_next(f, &b, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h2");
    assert_int_equal(modq_desk_media(f->desk, &b, "h2", -1, true, "", T0, &data, &len, &mime,
                                     &level, NULL, NULL),
                     MODQ_DESK_OK);
    free(data);
    expect_ledger_view(f, "b1", 3, true);
    /* Four minutes each at level 3, a1 in greyscale and b1 in colour. */
    grey = dt_me_number(f, &a, T0 + MIN(4), "used_minutes", "daily");
    colour = dt_me_number(f, &b, T0 + MIN(4), "used_minutes", "daily");
    print_message("after 4 min: greyscale %.4f, colour %.4f weighted minutes\n", grey, colour);
    assert_true(grey > 0.0);
    assert_true(fabs(colour - 2.0 * grey) < 1e-6);

    assert_int_equal(modq_desk_media(f->desk, &b, "h2", -1, false, "", T0 + MIN(4), &data, &len,
                                     &mime, &level, NULL, NULL),
                     MODQ_DESK_OK);
    free(data);
    expect_ledger_view(f, "b1", 3, false);
    grey2 = dt_me_number(f, &a, T0 + MIN(8), "used_minutes", "daily");
    colour2 = dt_me_number(f, &b, T0 + MIN(8), "used_minutes", "daily");
    print_message("after 8 min: greyscale %.4f, colour then grey %.4f\n", grey2, colour2);
    assert_true(fabs((colour2 - colour) - (grey2 - grey)) < 1e-6);
}

static void test_peek_to_level_1_and_back_is_recorded_as_the_clearest_view(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    Modq__V1__Decision *dec;
    uint8_t *data = NULL;
    size_t len;
    const char *mime;
    int level = -1;
    char id[160];
    rec_msg *m;

    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_reveal(f->desk, &a, "h1", 1, false, NULL, T0 + 1000, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(modq_desk_media(f->desk, &a, "h1", 1, false, "", T0 + 2000, &data, &len, &mime,
                                     &level, NULL, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(level, 1);
    expect_rendition(f, 1, data, len);
    free(data);
    assert_int_equal(modq_desk_media(f->desk, &a, "h1", 3, false, "", T0 + 3000, &data, &len, &mime,
                                     &level, NULL, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(level, 3);
    expect_rendition(f, 3, data, len);
    free(data);
    /* Back to the heaviest blur is not a reveal. */
    assert_int_equal(rec_audit_count(&f->rec, "h1", AU(REVEAL)), 1);
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "h1", "restrict", NULL, 0, NULL, T0 + 4000, NULL),
        MODQ_DESK_OK);
    assert_non_null(m = rec_last(&f->rec, REC_DECISION, "h1"));
    assert_non_null(dec = modq__v1__decision__unpack(NULL, m->len, m->buf));
    assert_int_equal(dec->max_reveal_level, 1);
    assert_int_equal(dec->review_duration_ms, 4000);
    modq__v1__decision__free_unpacked(dec, NULL);
}

static void test_decide_publishes_the_decision_with_its_fields_and_ref(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    const char *labels[] = {"hate_speech", "slur"};
    modq_prepared *probe = dt_prepare(f, "probe", "hate", 0, T0, 1, NULL);
    Modq__V1__Decision *dec;
    modq_desk_counts n;
    json_t *status = NULL;
    char id[160];
    rec_msg *m;

    assert_non_null(probe);
    assert_int_equal(dt_add_full(f, "h1", "hate", 3, T0 - 100, 1, NULL, 4, 44), MODQ_DESK_OK);
    assert_int_equal(dt_add_full(f, "txt", "gore", 0, T0, 0, NULL, 4, 45), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h1");
    assert_int_equal(modq_desk_reveal(f->desk, &a, "h1", 2, false, "", T0 + 1000, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(modq_desk_decide(f->desk, &a, "h1", "remove", labels, 2, "clear violation",
                                      T0 + 30000, &status),
                     MODQ_DESK_OK);
    assert_true(json_is_null(json_object_get(status, "current_item")));
    assert_string_equal(json_string_value(json_object_get(status, "associate")), "a1");
    json_decref(status);

    assert_int_equal(rec_count(&f->rec, REC_DECISION, NULL), 1);
    assert_non_null(m = rec_last(&f->rec, REC_DECISION, "h1"));
    assert_string_equal(m->ref.topic, "t.hate");
    assert_int_equal(m->ref.partition, 4);
    assert_int_equal(m->ref.offset, 44);
    assert_string_equal(m->content_id, "content-h1");
    assert_string_equal(m->labels, "hate_speech,slur");
    assert_int_equal(m->verdict, MODQ__V1__VERDICT__VERDICT_REMOVE);
    assert_true(m->has_sha);
    assert_memory_equal(m->sha, modq_media_sha256(probe->media), 32);
    assert_non_null(dec = modq__v1__decision__unpack(NULL, m->len, m->buf));
    assert_string_equal(dec->ticket_id, "h1");
    assert_string_equal(dec->content_id, "content-h1");
    assert_int_equal(dec->verdict, MODQ__V1__VERDICT__VERDICT_REMOVE);
    assert_int_equal(dec->n_policy_labels, 2);
    assert_string_equal(dec->policy_labels[1], "slur");
    assert_string_equal(dec->decided_by, "a1");
    assert_false(dec->auto_decided);
    assert_non_null(dec->hashes);
    assert_string_equal(dec->hashes->sha256, modq_media_sha256_hex(probe->media));
    assert_string_equal(dec->hashes->md5, modq_media_md5_hex(probe->media));
    assert_string_equal(dec->hashes->pdq, modq_media_pdq_hex(probe->media));
    assert_int_equal(dec->hashes->pdq_quality, modq_media_pdq_quality(probe->media));
    assert_int_equal(dec->max_reveal_level, 2);
    assert_int_equal(dec->review_duration_ms, 30000);
    assert_string_equal(dec->policy_version, "desk-test-1");
    assert_int_equal(dec->decided_at_ms, T0 + 30000);
    assert_int_equal(dec->decision_source, MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_HUMAN);
    assert_string_equal(dec->queue, "hate");
    assert_string_equal(dec->category, "hate");
    assert_string_equal(dec->trace_id, "trace-h1");
    assert_string_equal(dec->note, "clear violation");
    assert_false(dec->escalated);
    assert_string_equal(dec->worker_id, "w-desk");
    modq__v1__decision__free_unpacked(dec, NULL);
    assert_int_equal(rec_audit_count(&f->rec, "h1", AU(DECIDED)), 1);
    assert_true(f->rec.on_screen_seconds >= 30.0 - 1e-9 && f->rec.on_screen_seconds < 30.0 + 1e-9);
    /* Weighted as the daily cap counts it (short.yaml: tier 3 weighs 1, levels 3 and 2 weigh
     * 0.125 and 0.25): 1 s at level 3, then 29 s at level 2. */
    assert_true(fabs(f->rec.on_screen_minutes - (1.0 * 0.125 + 29.0 * 0.25) / 60.0) < 1e-9);
    assert_int_equal(modq_desk_decide(f->desk, &a, "h1", "remove", NULL, 0, NULL, T0 + 31000, NULL),
                     MODQ_DESK_ERR_NOT_FOUND);

    /* Without media: no hashes, no SHA-256 for the decided set. */
    assert_int_equal(dt_next(f, &a, NULL, T0 + 40000, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "txt");
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "txt", "no_violation", NULL, 0, NULL, T0 + 41000, NULL),
        MODQ_DESK_OK);
    assert_non_null(m = rec_last(&f->rec, REC_DECISION, "txt"));
    assert_false(m->has_sha);
    assert_non_null(dec = modq__v1__decision__unpack(NULL, m->len, m->buf));
    assert_null(dec->hashes);
    modq__v1__decision__free_unpacked(dec, NULL);
    modq_desk_get_counts(f->desk, &n);
    assert_int_equal(n.decisions[MODQ__V1__VERDICT__VERDICT_REMOVE], 1);
    assert_int_equal(n.decisions[MODQ__V1__VERDICT__VERDICT_NO_VIOLATION], 1);
    modq_prepared_free(probe);
}

typedef struct told {
    int n;
    modq_desk_fate last;
} told;

static void tell(void *arg, modq_desk_fate fate)
{
    told *t = arg;
    t->n++;
    t->last = fate;
}

/* The confirm of modq_desk_decide_then goes to the sink with the decision (which tells it once
 * Kafka has spoken); a second review, an audit event, is told at once; a refusal never. */
static void test_decide_then_hands_the_waiter_to_the_sink(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A), q = dt_who("q1", "t1", ROLE_Q);
    told first = {0}, second = {0}, refused = {0};
    const rec_msg *m = NULL;
    char id[160];

    dfx_desk(f, MIN(10), 1.0, 8);
    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_decide_then(f->desk, &a, "h2", "remove", NULL, 0, NULL, T0 + 5,
                                           &(modq_desk_confirm){tell, &refused}, NULL),
                     MODQ_DESK_ERR_NOT_FOUND);
    assert_int_equal(modq_desk_decide_then(f->desk, &a, "h1", "remove", NULL, 0, NULL, T0 + 10,
                                           &(modq_desk_confirm){tell, &first}, NULL),
                     MODQ_DESK_OK);
    for (size_t i = 0; i < f->rec.n; i++) {
        if (f->rec.m[i].kind == REC_DECISION && strcmp(f->rec.m[i].key, "h1") == 0) {
            m = &f->rec.m[i];
        }
    }
    assert_non_null(m);
    assert_true(m->has_confirm);
    assert_int_equal(first.n, 0); /* the sink has not spoken yet */
    m->confirm.fn(m->confirm.arg, MODQ_DESK_FATE_CONFIRMED);
    assert_int_equal(first.n, 1);
    assert_int_equal(first.last, MODQ_DESK_FATE_CONFIRMED);

    assert_int_equal(dt_next(f, &q, MODQ_DESK_QUEUE_QA, T0 + 20, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h1");
    assert_int_equal(modq_desk_decide_then(f->desk, &q, "h1", "remove", NULL, 0, NULL, T0 + 30,
                                           &(modq_desk_confirm){tell, &second}, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(rec_count(&f->rec, REC_DECISION, "h1"), 1);
    assert_int_equal(second.n, 1);
    assert_int_equal(second.last, MODQ_DESK_FATE_CONFIRMED);
    assert_int_equal(refused.n, 0);
}

static void test_qa_sample_is_reviewed_again_by_someone_else(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A | ROLE_Q), q = dt_who("q1", "t1", ROLE_Q);
    Modq__V1__AuditEvent *e;
    modq_desk_counts n;
    char id[160];

    dfx_desk(f, MIN(10), 1.0, 8);
    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_add(f, "h2", "hate", 0, T0 + 1), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, "hate", T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_decide(f->desk, &a, "h1", "remove", NULL, 0, NULL, T0 + 10, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(rec_count(&f->rec, REC_DECISION, "h1"), 1);
    modq_desk_get_counts(f->desk, &n);
    assert_int_equal(n.qa, 1);
    /* A decision read back from the topic does not end the second review. */
    assert_int_equal(modq_desk_forget_ticket(f->desk, "h1", NULL), 0);

    assert_int_equal(dt_next(f, &a, MODQ_DESK_QUEUE_QA, T0 + 20, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "");
    assert_int_equal(dt_next(f, &q, MODQ_DESK_QUEUE_QA, T0 + 20, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h1");
    assert_int_equal(modq_desk_decide(f->desk, &q, "h1", "remove", NULL, 0, NULL, T0 + 30, NULL),
                     MODQ_DESK_OK);
    assert_int_equal(rec_count(&f->rec, REC_DECISION, "h1"), 1);
    assert_non_null(e = rec_audit_last(&f->rec, "h1", AU(DECIDED)));
    assert_string_equal(e->actor, "q1");
    assert_string_equal(e->reason, "qa_agree");
    assert_string_equal(e->ticket_id, "h1");
    assert_string_equal(e->content_id, "content-h1");
    modq__v1__audit_event__free_unpacked(e, NULL);

    assert_int_equal(dt_next(f, &a, "hate", T0 + 40, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h2");
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "h2", "no_violation", NULL, 0, NULL, T0 + 50, NULL),
        MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &q, MODQ_DESK_QUEUE_QA, T0 + 60, id, NULL), MODQ_DESK_OK);
    assert_string_equal(id, "h2");
    assert_int_equal(modq_desk_decide(f->desk, &q, "h2", "remove", NULL, 0, NULL, T0 + 70, NULL),
                     MODQ_DESK_OK);
    assert_non_null(e = rec_audit_last(&f->rec, "h2", AU(DECIDED)));
    assert_string_equal(e->reason, "qa_disagree");
    modq__v1__audit_event__free_unpacked(e, NULL);
    modq_desk_get_counts(f->desk, &n);
    assert_int_equal(n.qa, 0);

    /* A desk too small to share keeps no sample. */
    dfx_desk(f, MIN(10), 1.0, 1);
    assert_int_equal(dt_add(f, "h3", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, "hate", T0 + MIN(60), id, NULL), MODQ_DESK_OK);
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "h3", "remove", NULL, 0, NULL, T0 + MIN(60) + 5, NULL),
        MODQ_DESK_OK);
    modq_desk_get_counts(f->desk, &n);
    assert_int_equal(n.qa, 0);

    /* QA copies keep to a quarter of the desk: the rest stays free for new tickets. */
    dfx_desk(f, MIN(10), 1.0, 8);
    for (int i = 0; i < 3; i++) {
        char tid[8];
        snprintf(tid, sizeof tid, "k%d", i);
        assert_int_equal(dt_add(f, tid, "hate", 0, T0), MODQ_DESK_OK);
        assert_int_equal(dt_next(f, &a, "hate", T0 + MIN(60) + i * 10, id, NULL), MODQ_DESK_OK);
        assert_int_equal(modq_desk_decide(f->desk, &a, id, "remove", NULL, 0, NULL,
                                          T0 + MIN(60) + i * 10 + 5, NULL),
                         MODQ_DESK_OK);
    }
    modq_desk_get_counts(f->desk, &n);
    assert_int_equal(n.qa, 2);
    for (int i = 0; i < 6; i++) { /* 2 QA copies + 6 tickets = 8 */
        char tid[8];
        snprintf(tid, sizeof tid, "m%d", i);
        assert_int_equal(dt_add(f, tid, "hate", 0, T0 + MIN(61)), MODQ_DESK_OK);
    }
}

static void test_decide_refuses_bad_requests_and_keeps_the_item(void **state)
{
    dfx *f = *state;
    modq_desk_who a = dt_who("a1", "t1", ROLE_A);
    const char *many[MODQ_DESK_MAX_LABELS + 1];
    const char *comma[] = {"a,b"};
    char longlabel[80], *note = malloc(MODQ_DESK_MAX_NOTE + 2);
    const char *longl[] = {longlabel};
    char id[160];

    for (size_t i = 0; i <= MODQ_DESK_MAX_LABELS; i++) {
        many[i] = "x";
    }
    memset(longlabel, 'l', 64);
    longlabel[64] = '\0';
    memset(note, 'n', MODQ_DESK_MAX_NOTE + 1);
    note[MODQ_DESK_MAX_NOTE + 1] = '\0';
    assert_int_equal(dt_add(f, "h1", "hate", 0, T0), MODQ_DESK_OK);
    assert_int_equal(dt_next(f, &a, NULL, T0, id, NULL), MODQ_DESK_OK);
    assert_int_equal(modq_desk_decide(f->desk, &a, "h1", "delete", NULL, 0, NULL, T0, NULL),
                     MODQ_DESK_ERR_INVALID_ARG);
    assert_int_equal(modq_desk_decide(f->desk, &a, "h1", "remove", many, MODQ_DESK_MAX_LABELS + 1,
                                      NULL, T0, NULL),
                     MODQ_DESK_ERR_INVALID_ARG);
    assert_int_equal(modq_desk_decide(f->desk, &a, "h1", "remove", longl, 1, NULL, T0, NULL),
                     MODQ_DESK_ERR_INVALID_ARG);
    assert_int_equal(modq_desk_decide(f->desk, &a, "h1", "remove", comma, 1, NULL, T0, NULL),
                     MODQ_DESK_ERR_INVALID_ARG);
    assert_int_equal(modq_desk_decide(f->desk, &a, "h1", "remove", NULL, 0, note, T0, NULL),
                     MODQ_DESK_ERR_INVALID_ARG);
    note[MODQ_DESK_MAX_NOTE] = '\0';
    longlabel[63] = '\0';
    assert_int_equal(rec_count(&f->rec, REC_DECISION, NULL), 0);
    assert_int_equal(
        modq_desk_decide(f->desk, &a, "h1", "remove", many, MODQ_DESK_MAX_LABELS, note, T0, NULL),
        MODQ_DESK_OK);
    assert_int_equal(rec_count(&f->rec, REC_DECISION, NULL), 1);
    free(note);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_full_reveal_needs_a_typed_reason_and_is_audited_with_it, dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_colour_is_denied_for_tier4_and_served_otherwise,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_colour_view_counts_more_exposure_than_grey, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(
            test_peek_to_level_1_and_back_is_recorded_as_the_clearest_view, dfx_setup,
            dfx_teardown),
        cmocka_unit_test_setup_teardown(test_decide_publishes_the_decision_with_its_fields_and_ref,
                                        dfx_setup, dfx_teardown),
        cmocka_unit_test_setup_teardown(test_decide_then_hands_the_waiter_to_the_sink, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(test_qa_sample_is_reviewed_again_by_someone_else, dfx_setup,
                                        dfx_teardown),
        cmocka_unit_test_setup_teardown(test_decide_refuses_bad_requests_and_keeps_the_item,
                                        dfx_setup, dfx_teardown),
    };
    return cmocka_run_group_tests(tests, dfx_group_setup, dfx_group_teardown);
}
