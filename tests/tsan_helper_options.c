/*
 * tsan_helper_options.c: linked into modq-media-sandbox in a MODQ_TSAN=ON tree only. The worker
 * starts its media helpers with an empty environment, so the tests' TSAN_OPTIONS never reach
 * them; without tests/tsan.supp a helper spends minutes in TSan's race reports on libvips's
 * threads (each pixel its own report) and every decode runs past its deadline. The runtime asks
 * for these options before main, before the helper confines itself.
 */
const char *__tsan_default_options(void);

const char *__tsan_default_options(void)
{
    return "suppressions=" MODQ_TSAN_SUPPRESSIONS;
}
