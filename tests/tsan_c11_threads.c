/*
 * tsan_c11_threads.c: linked into the test programs of a MODQ_TSAN=ON tree only. librdkafka
 * (2.0, Debian bookworm) makes its threads and locks with C11 <threads.h>, and glibc's
 * thrd_create, mtx_lock and cnd_wait call its pthread functions internally, where neither GCC
 * 12's nor clang 14's ThreadSanitizer intercepts them: a librdkafka thread is then unknown to
 * TSan (its first malloc crashes in the TSan allocator) and its locks order nothing (every
 * message handed from its threads to ours would be reported as a race). These definitions in the
 * program take the place of libc's for librdkafka and do the same through the pthread calls
 * that TSan intercepts. glibc's C11 types are its pthread types in other clothes (same size and
 * layout), which is what its own implementation relies on too.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "mtx_t is glibc's pthread_mutex_t");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "cnd_t is glibc's pthread_cond_t");
_Static_assert(sizeof(once_flag) == sizeof(pthread_once_t), "once_flag is pthread_once_t");
_Static_assert(sizeof(thrd_t) == sizeof(pthread_t), "thrd_t is pthread_t");

static int result(int e)
{
    switch (e) {
    case 0:
        return thrd_success;
    case EBUSY:
        return thrd_busy;
    case ETIMEDOUT:
        return thrd_timedout;
    case ENOMEM:
        return thrd_nomem;
    default:
        return thrd_error;
    }
}

typedef struct start {
    thrd_start_t func;
    void *arg;
} start;

/* A C11 thread returns an int; thrd_join gets it back through the pointer-sized result. */
static void *trampoline(void *p)
{
    start s = *(start *)p;

    free(p);
    return (void *)(intptr_t)s.func(s.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
    start *s = malloc(sizeof *s); /* freed by the new thread, or here if it is not made */
    int e;

    if (s == NULL) {
        return thrd_nomem;
    }
    s->func = func;
    s->arg = arg;
    if ((e = pthread_create(thr, NULL, trampoline, s)) != 0) {
        free(s);
    }
    return e == EAGAIN ? thrd_nomem : result(e);
}

int thrd_join(thrd_t thr, int *res)
{
    void *v = NULL;
    int e = pthread_join(thr, &v);

    if (e == 0 && res != NULL) {
        *res = (int)(intptr_t)v;
    }
    return result(e);
}

int mtx_init(mtx_t *m, int type)
{
    pthread_mutexattr_t a;
    int e;

    if ((e = pthread_mutexattr_init(&a)) != 0) {
        return result(e);
    }
    if (type & mtx_recursive) {
        e = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    }
    if (e == 0) {
        e = pthread_mutex_init((pthread_mutex_t *)m, &a);
    }
    pthread_mutexattr_destroy(&a);
    return result(e);
}

int mtx_lock(mtx_t *m)
{
    return result(pthread_mutex_lock((pthread_mutex_t *)m));
}

int mtx_trylock(mtx_t *m)
{
    return result(pthread_mutex_trylock((pthread_mutex_t *)m));
}

int mtx_unlock(mtx_t *m)
{
    return result(pthread_mutex_unlock((pthread_mutex_t *)m));
}

void mtx_destroy(mtx_t *m)
{
    pthread_mutex_destroy((pthread_mutex_t *)m);
}

int cnd_init(cnd_t *c)
{
    return result(pthread_cond_init((pthread_cond_t *)c, NULL));
}

int cnd_signal(cnd_t *c)
{
    return result(pthread_cond_signal((pthread_cond_t *)c));
}

int cnd_broadcast(cnd_t *c)
{
    return result(pthread_cond_broadcast((pthread_cond_t *)c));
}

int cnd_wait(cnd_t *c, mtx_t *m)
{
    return result(pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m));
}

int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts)
{
    return result(pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, ts));
}

void cnd_destroy(cnd_t *c)
{
    pthread_cond_destroy((pthread_cond_t *)c);
}

void call_once(once_flag *flag, void (*func)(void))
{
    pthread_once((pthread_once_t *)flag, func);
}
