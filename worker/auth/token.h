/*
 * token.h: `modq-worker token` (private to worker/): mints an HS256 review token for demos and
 * tests with the same secret file the worker verifies with (jwt.hs256_secret_file).
 */
#ifndef MODQ_WORKER_TOKEN_H
#define MODQ_WORKER_TOKEN_H

#define MODQ_TOKEN_MAX_TTL_S (30LL * 24 * 3600) /* a demo token lives at most 30 days */

/* argv[0] is "token". Prints the token on stdout; 0, or 2 with one line on stderr. */
int modq_token_main(int argc, char **argv);

#endif
