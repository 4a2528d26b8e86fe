/* media_limits.h: modq-bench-media's hostile-input modes (media_limits.c). */
#ifndef MODQ_BENCH_MEDIA_LIMITS_H
#define MODQ_BENCH_MEDIA_LIMITS_H

/* Writes a w x h synthetic progressive JPEG of exactly scans scans to path. 0, or -1 with a
 * message on stderr. */
int bench_make_scans(int w, int h, int scans, const char *path);
/* Times modq_media_process on each file (reps runs after a warm-up, median) with the default
 * limits and with the time limits lifted, and prints one "limits" line per file. Returns the
 * number of files that could not be read. */
int bench_limits(char **files, int nfiles, int reps);

#endif
