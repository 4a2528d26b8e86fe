/*
 * devbroker.c: modq-devbroker, librdkafka's mock Kafka cluster as a process of its own (mock.c), so
 * that tests and demos can kill and restart workers against a broker that outlives them: topics,
 * messages and committed offsets live in this process until it exits.
 *
 * The first line on stdout is the bootstrap address (then stdout is flushed), e.g.
 * "127.0.0.1:40113,127.0.0.1:39771,127.0.0.1:45013"; --port-file writes the same line to a file,
 * atomically. With --control it reads one command per line on stdin and answers each with one line
 * on stdout, "ok ..." or "err MESSAGE"; end of stdin then means quit, so a broker whose controller
 * dies goes away with it. SIGTERM or SIGINT stop it; it exits 0 after destroying the cluster.
 *
 * Exit codes: 0 stopped cleanly, 1 usage error, 2 the cluster or a topic could not be set up.
 */
#include "mock.h"
#include "modq_policy.h"
#include "modq_common.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TOPICS 256 /* --topic options kept; more is a usage error */
#define MAX_LINE   512 /* a control line longer than this is refused, not a reason to grow */
#define MAX_WORDS  5

/* The one mutable global: set by SIGTERM/SIGINT, read by the loop. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fputs("usage: modq-devbroker [--brokers N] [--topic NAME[:PARTITIONS[:REPLICATION]]]...\n"
          "                      [--partitions N] [--replication N] [--topics-from-policy FILE]\n"
          "                      [--port-file FILE] [--control] [--debug CONTEXTS]\n"
          "\n"
          "Runs librdkafka's mock Kafka cluster on 127.0.0.1 until SIGTERM/SIGINT and prints its\n"
          "bootstrap address as the first line on stdout.\n"
          "  --brokers N             brokers, ids 1..N (default 3)\n"
          "  --topic NAME[:P[:R]]    create a topic (repeatable); P and R default to --partitions\n"
          "                          and --replication\n"
          "  --partitions N          default partition count (default 3)\n"
          "  --replication N         default replication factor (default min(3, brokers))\n"
          "  --topics-from-policy F  create every queue topic of wellbeing policy F\n"
          "  --port-file FILE        also write the bootstrap address to FILE (atomically)\n"
          "  --control               read commands on stdin, one reply line each; EOF quits:\n"
          "                            down ID | up ID | leader TOPIC PARTITION ID |\n"
          "                            rtt ID MS | error API COUNT ERROR | clear API |\n"
          "                            topic NAME PARTITIONS [REPLICATION] | bootstrap | quit\n"
          "  --debug CONTEXTS        librdkafka debug contexts (e.g. mock,protocol) to stderr\n",
          f);
}

struct options {
    int brokers;
    int partitions;
    int replication; /* 0 = min(3, brokers) */
    const char *topics[MAX_TOPICS];
    size_t topic_count;
    const char *policy_file;
    const char *port_file;
    const char *debug;
    int control;
};

/* A whole decimal number in [lo, hi] into an int option; 0, or -1 when s is not one. */
static int parse_int(const char *s, int lo, int hi, int *out)
{
    int64_t v;

    if (!modq_parse_int64(s, lo, hi, &v)) {
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int is_value_option(const char *a)
{
    static const char *const names[] = {"--brokers", "--partitions",         "--replication",
                                        "--topic",   "--topics-from-policy", "--port-file",
                                        "--debug"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(a, names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* 0 on success; on a usage error prints why and returns -1. */
static int parse_args(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes_value = 1;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--control") == 0) {
            o->control = 1;
            takes_value = 0;
        } else if (!is_value_option(a)) {
            fprintf(stderr, "modq-devbroker: unknown option '%s'\n", a);
            usage(stderr);
            return -1;
        } else if (!v) {
            fprintf(stderr, "modq-devbroker: %s needs a value\n", a);
            return -1;
        } else if (strcmp(a, "--brokers") == 0) {
            if (parse_int(v, 1, MODQ_MOCK_MAX_BROKERS, &o->brokers) != 0) {
                fprintf(stderr, "modq-devbroker: --brokers must be 1..%d\n", MODQ_MOCK_MAX_BROKERS);
                return -1;
            }
        } else if (strcmp(a, "--partitions") == 0) {
            if (parse_int(v, 1, MODQ_MOCK_MAX_PARTITIONS, &o->partitions) != 0) {
                fprintf(stderr, "modq-devbroker: --partitions must be 1..%d\n",
                        MODQ_MOCK_MAX_PARTITIONS);
                return -1;
            }
        } else if (strcmp(a, "--replication") == 0) {
            if (parse_int(v, 1, MODQ_MOCK_MAX_BROKERS, &o->replication) != 0) {
                fprintf(stderr, "modq-devbroker: --replication must be 1..%d\n",
                        MODQ_MOCK_MAX_BROKERS);
                return -1;
            }
        } else if (strcmp(a, "--topic") == 0) {
            if (o->topic_count == MAX_TOPICS) {
                fprintf(stderr, "modq-devbroker: at most %d --topic options\n", MAX_TOPICS);
                return -1;
            }
            o->topics[o->topic_count++] = v;
        } else if (strcmp(a, "--topics-from-policy") == 0) {
            o->policy_file = v;
        } else if (strcmp(a, "--port-file") == 0) {
            o->port_file = v;
        } else {
            o->debug = v; /* --debug: is_value_option admits nothing else */
        }
        i += takes_value;
    }
    if (o->replication == 0) {
        o->replication = o->brokers < 3 ? o->brokers : 3;
    }
    if (o->replication > o->brokers) {
        fprintf(stderr, "modq-devbroker: --replication %d exceeds --brokers %d\n", o->replication,
                o->brokers);
        return -1;
    }
    return 0;
}

/* Creates one topic from "NAME[:PARTITIONS[:REPLICATION]]"; 0 on success, else prints why. */
static int create_topic_spec(modq_mock *m, const struct options *o, const char *spec)
{
    char name[256];
    char errstr[512];
    int partitions = o->partitions;
    int replication = o->replication;
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);

    if (len == 0 || len >= sizeof(name)) {
        fprintf(stderr, "modq-devbroker: bad --topic '%s'\n", spec);
        return -1;
    }
    memcpy(name, spec, len);
    name[len] = '\0';
    if (colon) {
        char counts[64];
        char *second;

        if (strlen(colon + 1) >= sizeof(counts)) {
            fprintf(stderr, "modq-devbroker: bad --topic '%s'\n", spec);
            return -1;
        }
        snprintf(counts, sizeof(counts), "%s", colon + 1);
        second = strchr(counts, ':');
        if (second) {
            *second++ = '\0';
        }
        if (parse_int(counts, 1, MODQ_MOCK_MAX_PARTITIONS, &partitions) != 0 ||
            (second && parse_int(second, 1, MODQ_MOCK_MAX_BROKERS, &replication) != 0)) {
            fprintf(stderr, "modq-devbroker: bad --topic '%s': want NAME[:PARTITIONS[:REPL]]\n",
                    spec);
            return -1;
        }
    }
    if (modq_mock_topic_create(m, name, partitions, replication, errstr, sizeof(errstr)) !=
        MODQ_MOCK_OK) {
        fprintf(stderr, "modq-devbroker: %s\n", errstr);
        return -1;
    }
    return 0;
}

/* Creates every queue topic of the policy at path (several queues may share one topic). */
static int create_policy_topics(modq_mock *m, const struct options *o, const char *path)
{
    modq_policy *p = NULL;
    char errstr[512];
    int rc = 0;

    if (modq_policy_load_file(path, &p, errstr, sizeof(errstr)) != MODQ_POLICY_OK) {
        fprintf(stderr, "modq-devbroker: %s\n", errstr);
        return -1;
    }
    for (size_t i = 0; i < modq_policy_queue_count(p) && rc == 0; i++) {
        const char *topic = modq_policy_queue_topic(p, i);
        modq_mock_result r =
            modq_mock_topic_create(m, topic, o->partitions, o->replication, errstr, sizeof(errstr));

        if (r != MODQ_MOCK_OK && r != MODQ_MOCK_ERR_TOPIC_EXISTS) {
            fprintf(stderr, "modq-devbroker: %s\n", errstr);
            rc = -1;
        }
    }
    modq_policy_free(p);
    return rc;
}

/* Writes the bootstrap line to path through a temporary file and rename(): no reader sees half. */
static int write_port_file(const char *path, const char *bootstrap)
{
    char tmp[4096];
    FILE *f = NULL;
    int rc = -1;
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());

    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        fprintf(stderr, "modq-devbroker: --port-file path too long\n");
        return -1;
    }
    f = fopen(tmp, "w");
    if (!f) {
        goto out;
    }
    if (fprintf(f, "%s\n", bootstrap) < 0) {
        fclose(f);
        goto out;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        fprintf(stderr, "modq-devbroker: %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

/* Splits line in place on spaces and tabs into at most max words; returns the word count, or
 * max + 1 when there are more words than that. */
static size_t split_words(char *line, char **words, size_t max)
{
    size_t n = 0;
    char *save = NULL;

    for (char *w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
        if (n == max) {
            return max + 1;
        }
        words[n++] = w;
    }
    return n;
}

/*
 * Runs one control command and prints its one-line reply. Returns 1 when the command was "quit".
 * The replies are for programs: "ok" plus facts, or "err" plus one line saying why.
 */
static int run_command(modq_mock *m, const struct options *o, char *line)
{
    char *w[MAX_WORDS];
    char errstr[512] = "";
    size_t n = split_words(line, w, MAX_WORDS);
    modq_mock_result r = MODQ_MOCK_ERR_INVALID_ARG;
    int id = 0;
    int v = 0;

    if (n == 0) {
        return 0; /* blank lines get no reply, so a here-document may carry them */
    }
    if (strcmp(w[0], "quit") == 0 && n == 1) {
        printf("ok bye\n");
        return 1;
    } else if (strcmp(w[0], "bootstrap") == 0 && n == 1) {
        printf("ok %s\n", modq_mock_bootstrap(m));
        return 0;
    } else if ((strcmp(w[0], "down") == 0 || strcmp(w[0], "up") == 0) && n == 2) {
        if (parse_int(w[1], 1, MODQ_MOCK_MAX_BROKERS, &id) != 0) {
            snprintf(errstr, sizeof(errstr), "bad broker id '%.32s'", w[1]);
        } else if (w[0][0] == 'd') {
            r = modq_mock_broker_down(m, id, errstr, sizeof(errstr));
        } else {
            r = modq_mock_broker_up(m, id, errstr, sizeof(errstr));
        }
    } else if (strcmp(w[0], "leader") == 0 && n == 4) {
        if (parse_int(w[2], 0, MODQ_MOCK_MAX_PARTITIONS - 1, &v) != 0 ||
            parse_int(w[3], 1, MODQ_MOCK_MAX_BROKERS, &id) != 0) {
            snprintf(errstr, sizeof(errstr), "usage: leader TOPIC PARTITION ID");
        } else {
            r = modq_mock_partition_leader(m, w[1], v, id, errstr, sizeof(errstr));
        }
    } else if (strcmp(w[0], "rtt") == 0 && n == 3) {
        if (parse_int(w[1], 1, MODQ_MOCK_MAX_BROKERS, &id) != 0 ||
            parse_int(w[2], 0, 60000, &v) != 0) {
            snprintf(errstr, sizeof(errstr), "usage: rtt ID MS (MS 0..60000)");
        } else {
            r = modq_mock_broker_rtt(m, id, v, errstr, sizeof(errstr));
        }
    } else if (strcmp(w[0], "error") == 0 && n == 4) {
        if (parse_int(w[2], 1, MODQ_MOCK_MAX_ERRORS, &v) != 0) {
            snprintf(errstr, sizeof(errstr), "error COUNT must be 1..%d", MODQ_MOCK_MAX_ERRORS);
        } else {
            r = modq_mock_push_errors(m, w[1], (size_t)v, w[3], errstr, sizeof(errstr));
        }
    } else if (strcmp(w[0], "clear") == 0 && n == 2) {
        r = modq_mock_clear_errors(m, w[1], errstr, sizeof(errstr));
    } else if (strcmp(w[0], "topic") == 0 && (n == 3 || n == 4)) {
        int repl = o->replication;

        if (parse_int(w[2], 1, MODQ_MOCK_MAX_PARTITIONS, &v) != 0 ||
            (n == 4 && parse_int(w[3], 1, MODQ_MOCK_MAX_BROKERS, &repl) != 0)) {
            snprintf(errstr, sizeof(errstr), "usage: topic NAME PARTITIONS [REPLICATION]");
        } else {
            r = modq_mock_topic_create(m, w[1], v, repl, errstr, sizeof(errstr));
        }
    } else {
        snprintf(errstr, sizeof(errstr),
                 "unknown command; want down ID | up ID | leader TOPIC PARTITION ID | rtt ID MS | "
                 "error API COUNT ERROR | clear API | topic NAME PARTITIONS [REPLICATION] | "
                 "bootstrap | quit");
    }
    if (r == MODQ_MOCK_OK) {
        printf("ok\n");
    } else {
        printf("err %s\n", errstr[0] ? errstr : modq_mock_strerror(r));
    }
    return 0;
}

/*
 * Reads what stdin has and runs each complete line. Returns 1 to stop (EOF, read error or "quit").
 * buf holds a partial line between calls; *len its length; *skipping is set while the rest of an
 * overlong line is being discarded.
 */
static int read_commands(modq_mock *m, const struct options *o, char *buf, size_t *len,
                         int *skipping)
{
    ssize_t got = read(STDIN_FILENO, buf + *len, MAX_LINE - *len);
    size_t start = 0;
    int quit = 0;

    if (got < 0) {
        return errno == EINTR || errno == EAGAIN ? 0 : 1;
    }
    if (got == 0) {
        return 1;
    }
    *len += (size_t)got;
    for (size_t i = 0; i < *len && !quit; i++) {
        if (buf[i] != '\n') {
            continue;
        }
        buf[i] = '\0';
        if (*skipping) {
            *skipping = 0;
        } else {
            quit = run_command(m, o, buf + start);
        }
        start = i + 1;
    }
    memmove(buf, buf + start, *len - start);
    *len -= start;
    if (*len == MAX_LINE) {
        /* An overlong line: refuse it once, then drop bytes up to its newline. */
        if (!*skipping) {
            printf("err line longer than %d bytes\n", MAX_LINE - 1);
        }
        *skipping = 1;
        *len = 0;
    }
    fflush(stdout);
    return quit;
}

int main(int argc, char **argv)
{
    struct options o = {.brokers = 3, .partitions = 3};
    struct sigaction sa;
    modq_mock *m = NULL;
    char errstr[512];
    char line[MAX_LINE];
    size_t line_len = 0;
    int skipping = 0;
    int reading = 0;
    int rc = 0;

    if (parse_args(argc, argv, &o) != 0) {
        return 1;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* A controller that goes away must not kill us mid-reply; the write just fails. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    if (modq_mock_new(o.brokers, o.debug, &m, errstr, sizeof(errstr)) != MODQ_MOCK_OK) {
        fprintf(stderr, "modq-devbroker: %s\n", errstr);
        rc = 2;
        goto out;
    }
    for (size_t i = 0; i < o.topic_count; i++) {
        if (create_topic_spec(m, &o, o.topics[i]) != 0) {
            rc = 2;
            goto out;
        }
    }
    if (o.policy_file && create_policy_topics(m, &o, o.policy_file) != 0) {
        rc = 2;
        goto out;
    }
    if (o.port_file && write_port_file(o.port_file, modq_mock_bootstrap(m)) != 0) {
        rc = 2;
        goto out;
    }
    printf("%s\n", modq_mock_bootstrap(m));
    fflush(stdout);

    reading = o.control;
    while (!stop_requested) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};

        /* Without stdin to watch, poll just sleeps; the timeout bounds how late a signal is seen
         * should it land between the flag check and poll. */
        if (poll(&pfd, reading ? 1 : 0, 200) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
            if (read_commands(m, &o, line, &line_len, &skipping) != 0) {
                break;
            }
        }
    }
out:
    modq_mock_free(m);
    if (o.port_file && rc == 0) {
        unlink(o.port_file);
    }
    return rc;
}
