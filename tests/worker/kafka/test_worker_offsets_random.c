/*
 * test_worker_offsets_random.c: crash simulation for worker/kafka/offsets.c: random out-of-order
 * completions, commits at random points, crashes that keep only the last commit, and restarts,
 * over many partitions and caps. Asserts that nothing uncompleted is ever skipped and that what
 * was completed and carried in the metadata is skipped after a restart. The seed is printed;
 * MODQ_TEST_SEED replays one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "offsets_testutil.h"

#include <stdbool.h>
#include <stdio.h>

/* One partition's log and what the oracle knows of it across lives. */
typedef struct sim {
    int64_t n;
    bool *absent;
    bool *completed; /* ever: what may be skipped */
    bool *decided;   /* completed and not handed out again since */
    bool *snap;      /* decided, as of the last commit: what must be skipped */
    int64_t *pending;
    size_t npending;
    int64_t coff;
    char cmd[MODQ_OFFSETS_METADATA_BUF];
    bool ctrunc;
} sim;

static void sim_check_restart(const sim *m, const modq_offsets *t)
{
    bool cut = false; /* past the first decided offset that the cap left out */
    for (int64_t o = m->coff < 0 ? 0 : m->coff; o < m->n + 2; o++) {
        bool d = modq_offsets_is_done(t, o);
        bool known = o < m->n && (m->absent[o] || m->completed[o]);
        assert_true(!d || known); /* never skip what was not completed */
        if (o < m->n && m->snap[o] && !d) {
            assert_true(m->ctrunc); /* never show again what was decided and fit the cap */
            cut = true;
        }
        assert_false(cut && d); /* the cap leaves out the highest offsets, not random ones */
    }
}

/* One partition over many lives. Each step delivers (deliver% of steps), completes, commits (6.5%)
 * or crashes (0.5%); the consumer obeys pause except ignore_pause% of the time. */
static void sim_run(uint64_t *s, int64_t n, size_t cap, unsigned deliver, unsigned ignore_pause,
                    int steps)
{
    sim m = {.n = n, .coff = -1001};
    m.absent = calloc((size_t)n, 1);
    m.completed = calloc((size_t)n, 1);
    m.snap = calloc((size_t)n, 1);
    m.decided = calloc((size_t)n, 1);
    m.pending = calloc((size_t)n, sizeof *m.pending);
    assert_true(m.absent && m.completed && m.snap && m.decided && m.pending);
    for (int64_t o = 0; o < n; o++) {
        m.absent[o] = rnd(s, 100) < 3;
    }
    int lives = 0, commits = 0, truncated = 0;
    while (steps > 0) {
        modq_offsets *t = mk(m.coff, m.cmd, cap);
        lives++;
        sim_check_restart(&m, t);
        int64_t pos = m.coff < 0 ? 0 : m.coff;
        bool anchored = m.coff >= 0; /* else nothing to commit before the first delivery */
        /* Decided offsets the commit could not carry are unknown to this life: they will be
         * delivered again. (The check above has shown that the tracker knows no more than that.) */
        for (int64_t o = pos; o < n; o++) {
            m.decided[o] = m.decided[o] && modq_offsets_is_done(t, o);
        }
        int life = 1 + (int)rnd(s, 3000);
        for (; life > 0 && steps > 0; life--, steps--) {
            uint64_t a = rnd(s, 1000);
            if (a < deliver * 10) {
                if (pos == n || (modq_offsets_should_pause(t) && rnd(s, 100) >= ignore_pause)) {
                    continue;
                }
                while (pos < n && m.absent[pos]) {
                    pos++;
                }
                if (pos == n) {
                    continue;
                }
                int64_t o = pos++;
                modq_offsets_result r = modq_offsets_track(t, o);
                anchored = true;
                if (r == MODQ_OFFSETS_ALREADY_DONE) {
                    assert_true(m.completed[o]);
                } else {
                    assert_int_equal(r, MODQ_OFFSETS_OK);
                    m.pending[m.npending++] = o;
                    m.decided[o] = false; /* redelivered (commit too old or cut): in review */
                }
            } else if (a < 930) {
                if (m.npending == 0) {
                    continue;
                }
                size_t k = (size_t)rnd(s, m.npending);
                int64_t o = m.pending[k];
                m.pending[k] = m.pending[--m.npending];
                assert_int_equal(modq_offsets_complete(t, o), MODQ_OFFSETS_OK);
                m.completed[o] = m.decided[o] = true;
            } else if (a < 995) {
                if (!anchored) {
                    continue;
                }
                m.coff = commit(t, m.cmd, cap);
                for (int64_t o = 0; o < m.coff && o < n; o++) {
                    assert_true(m.absent[o] || m.completed[o]);
                }
                memcpy(m.snap, m.decided, (size_t)n);
                m.ctrunc = modq_offsets_metadata_truncated(t);
                commits++;
                truncated += m.ctrunc;
            } else {
                break; /* crash: reviews in flight are lost, the last commit stands */
            }
        }
        m.npending = 0;
        modq_offsets_free(t);
    }
    printf("  log %5lld, cap %4zu, deliver %u%%, pause ignored %3u%%: %d lives, %d commits (%d cut "
           "at cap)\n",
           (long long)n, cap, deliver, ignore_pause, lives, commits, truncated);
    free(m.absent);
    free(m.completed);
    free(m.snap);
    free(m.decided);
    free(m.pending);
}

static void test_random_crashes_never_skip_nor_repeat(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    printf("  seed %llu (set MODQ_TEST_SEED to replay)\n", (unsigned long long)seed);
    uint64_t s = seed;
    for (int round = 0; round < 12; round++) {
        size_t cap = round % 3 == 0 ? MODQ_OFFSETS_CAP_MIN : round % 3 == 1 ? 200 : CAP;
        bool wild = round % 4 == 3; /* a consumer outpacing its reviewers, ignoring pause */
        sim_run(&s, 2000 + (int64_t)rnd(&s, 20000), cap, wild ? 75 : 50,
                wild ? 100 : (unsigned)rnd(&s, 30), 40000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_crashes_never_skip_nor_repeat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
