/*
 * pipeline_report.c: what modq-bench-pipeline prints once every run is done: the media pipeline
 * alone, the worker's runs through Kafka, the Kafka overhead as ratios of the two, and the memory
 * figures; then one JSON line with the same numbers for scripts.
 */
#include "pipeline_bench.h"

#define MB(kb) ((double)(kb) / 1024.0)

/* ms per ticket per preparation thread: what one thread spends on a ticket, Kafka included. */
static double per_thread_ms(const pb_result *r, int threads, long n)
{
    return r->wall_ms * threads / (double)n;
}

/* The same without the group join, which a long-running worker pays once. */
static double steady_ms(const pb_result *r, int threads, long n)
{
    return (r->wall_ms - r->join_ms) * threads / (double)n;
}

static void print_row(const char *what, int threads, long n, const pb_result *r)
{
    double cpu = r->cpu.worker_ms + r->cpu.client_ms + r->cpu.broker_ms;
    printf("  %-14s %7d %7ld %7.2f %6.2f %9.1f %8.1f %8.1f %7.1f %7.1f %6.1f\n", what, threads, n,
           r->wall_ms / 1e3, r->join_ms / 1e3, n / (r->wall_ms / 1e3), per_thread_ms(r, threads, n),
           cpu / n, r->cpu.worker_ms / n, r->cpu.client_ms / n, r->cpu.broker_ms / n);
}

static void print_media(const pb_figures *fg)
{
    static const char *const what[PB_MEDIA_COUNT][2] = {
        {"full", "modq_media_process: decode, hashes, 4 renditions"},
        {"hashes", "deferred, image dropped: what a bank match costs the worker"},
        {"hashes+render", "deferred, then rendered: what a review item costs the worker"},
    };

    printf("\nmedia alone, 1 thread, mean over the %d images:\n", fg->nimages);
    printf("  %-14s %9s %8s\n", "way", "ms/image", "cpu ms");
    for (int w = 0; w < PB_MEDIA_COUNT; w++) {
        printf("  %-14s %9.1f %8.1f  %s\n", what[w][0], fg->media_ms[w], fg->media_cpu_ms[w],
               what[w][1]);
    }
}

static void print_worker(const pb_figures *fg)
{
    printf("\nworker through Kafka: wall s from the first modq_run_step until every ticket is "
           "done;\njoin s until the first ticket reached the pool (the consumer group's join); "
           "ms/t/thr =\nwall x threads / tickets; cpu = process CPU per ticket, split into the "
           "worker's threads\n(poll loop, pool, libvips), librdkafka's client threads, and the "
           "mock brokers' thread:\n");
    printf("  %-14s %7s %7s %7s %6s %9s %8s %8s %7s %7s %6s\n", "run", "threads", "tickets",
           "wall s", "join s", "tickets/s", "ms/t/thr", "cpu ms/t", "worker", "rdkafka", "broker");
    print_row("auto-decided", 1, fg->tickets, &fg->auto1);
    if (fg->nproc > 1) {
        print_row("auto-decided", fg->nproc, fg->tickets, &fg->auton);
    }
    print_row("review (held)", 1, fg->reviews, &fg->review1);
    if (fg->nproc > 1) {
        print_row("review (held)", fg->nproc, fg->reviews, &fg->reviewn);
    }
    printf("  (%.1f MB of tickets in Kafka; auto: every image in a hash bank, window %ld per "
           "queue;\n  review: no bank, window %ld per queue)\n",
           (double)fg->tickets_bytes / 1048576.0, fg->window, fg->review_window);
}

/* Process CPU per ticket, all threads: what the machine spent, whoever else was busy. */
static double cpu_per_ticket(const pb_result *r, long n)
{
    return (r->cpu.worker_ms + r->cpu.client_ms + r->cpu.broker_ms) / (double)n;
}

static void print_overhead(const pb_figures *fg)
{
    static const char *const name[2] = {"auto-decided", "review (held)"};
    const pb_result *run[2] = {&fg->auto1, &fg->review1};
    const long n[2] = {fg->tickets, fg->reviews};
    const int way[2] = {PB_MEDIA_HASHES, PB_MEDIA_RENDER};

    printf("\nKafka overhead: the worker, 1 thread, per ticket / the same media work alone, per "
           "image\n(wall; wall after the join; process CPU, which a busy machine does not "
           "inflate):\n");
    for (int i = 0; i < 2; i++) {
        double w = per_thread_ms(run[i], 1, n[i]), m = fg->media_ms[way[i]];
        printf("  %-14s %6.1f / %6.1f = %.2f   after the join %.2f   CPU %5.1f / %5.1f = %.2f\n",
               name[i], w, m, w / m, steady_ms(run[i], 1, n[i]) / m, cpu_per_ticket(run[i], n[i]),
               fg->media_cpu_ms[way[i]], cpu_per_ticket(run[i], n[i]) / fg->media_cpu_ms[way[i]]);
    }
    printf("  auto-decided / full modq_media_process: %.1f / %.1f = %.2f (a bank match skips the "
           "renditions)\n",
           per_thread_ms(&fg->auto1, 1, fg->tickets), fg->media_ms[PB_MEDIA_FULL],
           per_thread_ms(&fg->auto1, 1, fg->tickets) / fg->media_ms[PB_MEDIA_FULL]);
}

static void print_memory(const pb_figures *fg)
{
    printf("\nmemory: %ld small tickets (%.1f MB) waiting in Kafka; default window %ld x %ld "
           "queues = %ld held\n",
           fg->backlog, (double)fg->backlog_bytes / 1048576.0, fg->window, fg->queues,
           fg->held_target);
    printf("  RSS at start                      %7.1f MB\n", MB(fg->rss_start_kb));
    printf("  RSS before the worker started     %7.1f MB  (the mock brokers hold the backlog "
           "in this process)\n",
           MB(fg->rss_backlog_kb));
    printf("  RSS, window full for %3ld s        %7.1f MB  (%+.1f MB: the worker)\n", fg->hold_s,
           MB(fg->memory.rss_kb), MB(fg->memory.rss_kb - fg->rss_backlog_kb));
    printf("  VmHWM %-27s %7.1f MB\n",
           fg->hwm_reset ? "since the worker started" : "(whole process)", MB(fg->memory.hwm_kb));
    printf("  review items held %zu; tickets taken from Kafka %llu of %ld\n", fg->memory.held,
           (unsigned long long)fg->memory.counts.received, fg->backlog);
}

/* "NAME_threads", "NAME_tickets_per_s", ... of one run, each followed by a comma. */
static void json_run(const char *name, const pb_result *r, int threads, long n)
{
    printf("\"%s_threads\":%d,\"%s_tickets\":%ld,\"%s_wall_s\":%.3f,\"%s_join_s\":%.3f,"
           "\"%s_tickets_per_s\":%.2f,\"%s_ms_per_ticket_per_thread\":%.2f,"
           "\"%s_cpu_ms_per_ticket\":[%.2f,%.2f,%.2f],",
           name, threads, name, n, name, r->wall_ms / 1e3, name, r->join_ms / 1e3, name,
           n / (r->wall_ms / 1e3), name, per_thread_ms(r, threads, n), name, r->cpu.worker_ms / n,
           r->cpu.client_ms / n, r->cpu.broker_ms / n);
}

static void print_json(const pb_figures *fg)
{
    double a = per_thread_ms(&fg->auto1, 1, fg->tickets);
    double r = per_thread_ms(&fg->review1, 1, fg->reviews);

    printf("{\"nproc\":%d,\"images\":%d,\"media_ms_per_image\":%.2f,"
           "\"media_hashes_ms_per_image\":%.2f,\"media_hashes_render_ms_per_image\":%.2f,",
           fg->nproc, fg->nimages, fg->media_ms[PB_MEDIA_FULL], fg->media_ms[PB_MEDIA_HASHES],
           fg->media_ms[PB_MEDIA_RENDER]);
    json_run("auto1", &fg->auto1, 1, fg->tickets);
    if (fg->nproc > 1) {
        json_run("auton", &fg->auton, fg->nproc, fg->tickets);
    }
    json_run("review1", &fg->review1, 1, fg->reviews);
    if (fg->nproc > 1) {
        json_run("reviewn", &fg->reviewn, fg->nproc, fg->reviews);
    }
    printf("\"kafka_overhead\":%.3f,\"kafka_overhead_auto\":%.3f,"
           "\"kafka_overhead_auto_without_join\":%.3f,\"kafka_overhead_review\":%.3f,"
           "\"kafka_overhead_review_without_join\":%.3f,\"kafka_overhead_auto_cpu\":%.3f,"
           "\"kafka_overhead_review_cpu\":%.3f,",
           a / fg->media_ms[PB_MEDIA_FULL], a / fg->media_ms[PB_MEDIA_HASHES],
           steady_ms(&fg->auto1, 1, fg->tickets) / fg->media_ms[PB_MEDIA_HASHES],
           r / fg->media_ms[PB_MEDIA_RENDER],
           steady_ms(&fg->review1, 1, fg->reviews) / fg->media_ms[PB_MEDIA_RENDER],
           cpu_per_ticket(&fg->auto1, fg->tickets) / fg->media_cpu_ms[PB_MEDIA_HASHES],
           cpu_per_ticket(&fg->review1, fg->reviews) / fg->media_cpu_ms[PB_MEDIA_RENDER]);
    printf(
        "\"tickets_bytes\":%llu,\"backlog_tickets\":%ld,\"backlog_bytes\":%llu,\"window_held\":%zu,"
        "\"backlog_taken\":%llu,\"rss_start_kb\":%ld,\"rss_before_worker_kb\":%ld,"
        "\"rss_window_full_kb\":%ld,\"hwm_kb\":%ld,\"hwm_since_worker\":%s}\n",
        (unsigned long long)fg->tickets_bytes, fg->backlog, (unsigned long long)fg->backlog_bytes,
        fg->memory.held, (unsigned long long)fg->memory.counts.received, fg->rss_start_kb,
        fg->rss_backlog_kb, fg->memory.rss_kb, fg->memory.hwm_kb, fg->hwm_reset ? "true" : "false");
}

void pb_report(const pb_figures *fg)
{
    print_media(fg);
    print_worker(fg);
    print_overhead(fg);
    print_memory(fg);
    printf("\n");
    print_json(fg);
}
