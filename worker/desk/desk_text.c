/*
 * desk_text.c: the rule for free text that one person types and another reads (a support
 * request's message, shown in a lead's team view and carried by the wellbeing event): text.c's
 * one-line rule (strict UTF-8, no control characters), so that what the lead sees is what was
 * typed and every tool reading the event can parse it.
 */
#include "desk.h"

#include "prepare/text.h"

bool modq_desk_text_ok(const char *s, size_t n)
{
    return s && modq_text_check(MODQ_TEXT_NAME, s, n, n) == MODQ_TEXT_OK;
}
