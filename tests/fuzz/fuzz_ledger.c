/*
 * fuzz_ledger.c: an exposure ledger as it comes back from the compacted ledgers topic
 * (modq_ledger_unpack), then used: checked against the shipped policy, driven by a few recorded
 * events, and packed again.
 *
 * Input: 8 bytes of events, then a packed modq.v1.Ledger. Event byte b: kind b & 7 (none, show,
 * reveal, hide, break start, break end, shift start, shift end), happening (b >> 3) * 3 minutes
 * after the one before, starting at the ledger's newest record.
 *
 * Invariants: what unpacks packs and unpacks again to the same bytes (unpack checks everything
 * pack relies on), and so does whatever the ledger becomes through its own functions.
 */
#include "fuzz_util.h"
#include "modq_policy.h"

#define EVENTS 8
#define T0     INT64_C(1767603600000) /* 2026-01-05T09:00:00Z: the time of an empty ledger */
#define MINUTE INT64_C(60000)

typedef struct fz_state {
    modq_policy *policy;
    modq_settings *settings;
    modq_decision *d;
} fz_state;

static fz_state st;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[1024], err[512];

    (void)argc, (void)argv;
    if (modq_policy_load_file(fz_source_path("policy/default.yaml", path, sizeof(path)), &st.policy,
                              err, sizeof(err)) != MODQ_POLICY_OK) {
        fz_setup_fail("%s", err);
    }
    if (!(st.settings = modq_settings_new()) || !(st.d = modq_decision_new())) {
        fz_setup_fail("out of memory");
    }
    modq_settings_set_roles(st.settings, MODQ_ROLE_ASSOCIATE | MODQ_ROLE_LEAD);
    (void)modq_settings_add_skill(st.settings, "extremism");
    (void)modq_settings_add_skill(st.settings, "ar");
    return 0;
}

/* l packs, unpacks, and packs to the same bytes. what names l in a failure. */
static void round_trip(const modq_ledger *l, const char *what)
{
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    modq_ledger *again = NULL;
    char err[256] = "";
    modq_policy_result r;

    if ((r = modq_ledger_pack(l, &a, &alen)) != MODQ_POLICY_OK) {
        if (r == MODQ_POLICY_ERR_NOMEM) {
            return;
        }
        fz_fail("%s: pack refused: %s", what, modq_policy_strerror(r));
    }
    r = modq_ledger_unpack(a, alen, &again, err, sizeof(err));
    if (r != MODQ_POLICY_OK && r != MODQ_POLICY_ERR_NOMEM) {
        fz_fail("%s: its own pack does not unpack: %s", what, err);
    }
    if (r == MODQ_POLICY_OK && modq_ledger_pack(again, &b, &blen) == MODQ_POLICY_OK &&
        (alen != blen || memcmp(a, b, alen) != 0)) {
        fz_fail("%s: pack, unpack, pack changed the bytes (%zu, then %zu)", what, alen, blen);
    }
    modq_ledger_free(again);
    free(a);
    free(b);
}

static void play(modq_ledger *l, const uint8_t events[EVENTS])
{
    int64_t last = modq_ledger_last_ms(l), t = last == INT64_MIN ? T0 : last;
    size_t nq = modq_policy_queue_count(st.policy);

    for (int i = 0; i < EVENTS; i++) {
        unsigned kind = events[i] & 7u, arg = events[i] >> 3;
        size_t qi = arg % nq;

        t += (int64_t)arg * 3 * MINUTE;
        switch (kind) {
        case 1:
            (void)modq_ledger_show(l, modq_policy_queue_category(st.policy, qi),
                                   modq_policy_queue_tier(st.policy, qi), 3, t);
            break;
        case 2:
            (void)modq_ledger_reveal(l, (int)(arg & 3), (arg & 4) != 0, t);
            break;
        case 3:
            (void)modq_ledger_hide(l, t);
            break;
        case 4:
            (void)modq_ledger_break_start(l, t);
            break;
        case 5:
            (void)modq_ledger_break_end(l, t);
            break;
        case 6:
            (void)modq_ledger_start_shift(l, t);
            break;
        case 7:
            (void)modq_ledger_end_shift(l, t);
            break;
        default:
            break;
        }
    }
    for (size_t qi = 0; qi < nq; qi++) {
        (void)modq_policy_check(st.policy, l, st.settings, qi, t, st.d);
    }
    (void)modq_policy_check_reveal(st.policy, l, st.settings, 0, true, true, t, st.d);
    (void)modq_policy_status(st.policy, l, st.settings, t, st.d);
    (void)modq_policy_exposure_minutes(st.policy, l, t - 24 * 60 * MINUTE, t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    modq_ledger *l = NULL;
    char err[256] = "";
    uint8_t events[EVENTS] = {0};

    if (size < EVENTS) {
        return 0;
    }
    memcpy(events, data, EVENTS);
    if (modq_ledger_unpack(data + EVENTS, size - EVENTS, &l, err, sizeof(err)) != MODQ_POLICY_OK) {
        if (l) {
            fz_fail("a refused ledger was handed out");
        }
        return 0;
    }
    (void)modq_ledger_associate(l);
    (void)modq_ledger_segment_count(l);
    (void)modq_ledger_break_count(l);
    (void)modq_ledger_shift_start(l);
    (void)modq_ledger_item_open(l);
    (void)modq_ledger_on_break(l);
    round_trip(l, "the unpacked ledger");
    play(l, events);
    round_trip(l, "the ledger after events");
    modq_ledger_free(l);
    return 0;
}
