/* bench_args.h: command-line number parsing shared by the bench programs (bench_args.c). */
#ifndef MODQ_BENCH_ARGS_H
#define MODQ_BENCH_ARGS_H

/* The whole of s as a decimal in [lo, hi] into *out; -1 (and *out untouched) otherwise. */
int bench_parse_long(const char *s, long lo, long hi, long *out);

#endif
