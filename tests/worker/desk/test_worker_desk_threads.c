/*
 * test_worker_desk_threads.c: the desk under concurrent use (worker/desk/desk*.c): eight associates
 * take and decide 200 items at once while the worker loop ticks and reads the figures; every
 * item must be decided exactly once, by whoever held its lease.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "desk_testutil.h"

#include <stdatomic.h>

#define NTHREADS 8
#define NITEMS   200

typedef struct worker_arg {
    dfx *f;
    char id[16];
    atomic_llong *clock;
    atomic_int *stop;
    int decided;
    int errors;
} worker_arg;

static void *associate(void *p)
{
    worker_arg *w = p;
    modq_desk_who who = dt_who(w->id, "t1", ROLE_A);
    char item[160];

    for (;;) {
        int64_t now = T0 + atomic_fetch_add(w->clock, 1);
        modq_desk_counts n;
        modq_desk_result r = dt_next(w->f, &who, NULL, now, item, NULL);
        if (r != MODQ_DESK_OK) {
            w->errors++;
            break;
        }
        if (item[0] == '\0') {
            modq_desk_get_counts(w->f->desk, &n);
            if (n.waiting == 0 && n.leased == 0) {
                break;
            }
            continue;
        }
        now = T0 + atomic_fetch_add(w->clock, 1);
        if (modq_desk_decide(w->f->desk, &who, item, "remove", NULL, 0, NULL, now, NULL) !=
            MODQ_DESK_OK) {
            w->errors++;
        } else {
            w->decided++;
        }
    }
    return NULL;
}

static void *ticker(void *p)
{
    worker_arg *w = p;
    while (!atomic_load(w->stop)) {
        modq_desk_counts n;
        (void)modq_desk_tick(w->f->desk, T0 + atomic_load(w->clock));
        modq_desk_get_counts(w->f->desk, &n);
    }
    return NULL;
}

static void test_concurrent_associates_decide_every_item_exactly_once(void **state)
{
    static const char *const queues[] = {"spam", "hate", "nudity", "gore"};
    dfx *f = *state;
    atomic_llong clock = 0;
    atomic_int stop = 0;
    worker_arg args[NTHREADS + 1];
    pthread_t th[NTHREADS + 1];
    int seen[NITEMS] = {0}, total = 0;
    modq_desk_counts n;
    char name[16];

    dfx_desk(f, MIN(10), 0.0, NITEMS);
    for (int i = 0; i < NITEMS; i++) {
        snprintf(name, sizeof(name), "t%03d", i);
        assert_int_equal(
            dt_add_full(f, name, queues[i % 4], i % 3, T0 - i, i % 4 == 0, NULL, i % 2, i),
            MODQ_DESK_OK);
    }
    for (int i = 0; i <= NTHREADS; i++) {
        args[i] = (worker_arg){.f = f, .clock = &clock, .stop = &stop};
        snprintf(args[i].id, sizeof(args[i].id), "a%d", i);
        assert_int_equal(pthread_create(&th[i], NULL, i == NTHREADS ? ticker : associate, &args[i]),
                         0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].errors, 0);
        total += args[i].decided;
    }
    atomic_store(&stop, 1);
    assert_int_equal(pthread_join(th[NTHREADS], NULL), 0);

    assert_int_equal(total, NITEMS);
    assert_int_equal(rec_count(&f->rec, REC_DECISION, NULL), NITEMS);
    for (size_t i = 0; i < f->rec.n; i++) {
        const rec_msg *m = &f->rec.m[i];
        Modq__V1__Decision *d;
        if (m->kind != REC_DECISION) {
            continue;
        }
        assert_true(m->ref.offset >= 0 && m->ref.offset < NITEMS);
        seen[m->ref.offset]++;
        assert_non_null(d = modq__v1__decision__unpack(NULL, m->len, m->buf));
        snprintf(name, sizeof(name), "t%03d", (int)m->ref.offset);
        assert_string_equal(d->ticket_id, name);
        modq__v1__decision__free_unpacked(d, NULL);
    }
    for (int i = 0; i < NITEMS; i++) {
        assert_int_equal(seen[i], 1);
    }
    modq_desk_get_counts(f->desk, &n);
    assert_int_equal(n.waiting + n.leased + n.qa + n.escalations, 0);
    assert_int_equal(n.decisions[MODQ__V1__VERDICT__VERDICT_REMOVE], NITEMS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_associates_decide_every_item_exactly_once,
                                        dfx_setup, dfx_teardown),
    };
    return cmocka_run_group_tests(tests, dfx_group_setup, dfx_group_teardown);
}
