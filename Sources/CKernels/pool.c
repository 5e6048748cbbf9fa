// The engine's worker pool (see ckernels_pool.h for why it spins).
//
// One job at a time per pool; its indices are handed out through one atomic word, `ticket` = job number << 32 |
// index count << 16 | next index. A claim is a compare-and-swap of the whole word, so a helper that read the ticket
// of a job that has since finished cannot claim anything: the word it names is gone. (With the count in a field of
// its own, a helper could pair the old job's exhausted index with the next job's larger count and run an index
// twice; PoolTests caught that.) While a job has an unclaimed index the owner cannot finish it, so the body and
// context it published before the ticket stay valid for every successful claim.
#define _GNU_SOURCE
#include "ckernels_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

// Pauses a helper spins before it parks: ~40k × ~140 cycles (Skylake-X and later) ≈ 2 ms at 2.5 GHz, longer
// than any gap between two kernels of a render and short enough that an idle daemon sleeps.
enum { SPINS_BEFORE_PARK = 40000, SPINS_BEFORE_YIELD = 2000 };
// Indices one job can have (16 bits of the ticket); larger jobs run serially — the engine's have one per thread.
enum { MAX_COUNT = 0xffff };

typedef struct pool {
    int helpers;
    pthread_t *threads;
    // The current job. Written by the owner before it publishes `ticket` (release), read after a claim.
    _Atomic(ckernels_task_fn) body;
    _Atomic(void *) context;
    atomic_ullong ticket;  // job << 32 | count << 16 | next unclaimed index
    atomic_long done;      // indices of the current job finished
    unsigned long long job;  // owner only: the last job number published
    atomic_int parked;     // helpers waiting on `wake`
    atomic_int stop;
    pthread_mutex_t lock;
    pthread_cond_t wake;
} pool;

static _Thread_local pool *local_pool;
static _Thread_local int inside_job;  // helpers always; the owner while it runs its share
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

/// Claims and runs indices of job `job` until it has none left.
static void run_claims(pool *p, unsigned long long job) {
    unsigned long long v = atomic_load_explicit(&p->ticket, memory_order_acquire);
    for (;;) {
        if ((v >> 32) != job) return;
        long index = (long)(v & 0xffff), count = (long)((v >> 16) & 0xffff);
        if (index >= count) return;
        if (!atomic_compare_exchange_weak_explicit(&p->ticket, &v, v + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;  // v now holds the current ticket
        ckernels_task_fn body = atomic_load_explicit(&p->body, memory_order_relaxed);
        body(atomic_load_explicit(&p->context, memory_order_relaxed), index);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
        v = atomic_load_explicit(&p->ticket, memory_order_acquire);
    }
}

/// Waits, spinning then parked, until a job other than `seen` is published or the pool stops.
static unsigned long long await_job(pool *p, unsigned long long seen) {
    for (int spins = 0;; spins++) {
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) return 0;
        unsigned long long job = atomic_load_explicit(&p->ticket, memory_order_acquire) >> 32;
        if (job != seen) return job;
        if (spins < SPINS_BEFORE_PARK) {
            cpu_relax();
            continue;
        }
        // Park. `parked` is raised before the ticket is read again, and the owner reads `parked` after publishing
        // (both sequentially consistent), so either this thread sees the new job or the owner sees it parked.
        pthread_mutex_lock(&p->lock);
        atomic_fetch_add(&p->parked, 1);
        while (!atomic_load(&p->stop) && (atomic_load(&p->ticket) >> 32) == seen) pthread_cond_wait(&p->wake, &p->lock);
        atomic_fetch_sub(&p->parked, 1);
        pthread_mutex_unlock(&p->lock);
        spins = 0;
    }
}

static void *helper_main(void *arg) {
    pool *p = arg;
    inside_job = 1;  // a kernel that splits again from a helper runs serially
    unsigned long long seen = 0;
    while ((seen = await_job(p, seen)) != 0) run_claims(p, seen);
    return NULL;
}

static void stop_pool(pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->helpers; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}

static void on_thread_exit(void *p) { stop_pool(p); }
static void make_exit_key(void) { pthread_key_create(&exit_key, on_thread_exit); }

/// The calling thread's pool with `helpers` helpers, or NULL when threads cannot be created.
static pool *pool_for(int helpers) {
    if (local_pool && local_pool->helpers == helpers) return local_pool;
    ckernels_pool_shutdown();
    pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = calloc((size_t)helpers, sizeof(pthread_t));
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    for (int i = 0; i < helpers; i++) {
        if (pthread_create(&p->threads[i], NULL, helper_main, p) != 0) {
            p->helpers = i;  // stop the ones that started; the caller runs serially
            stop_pool(p);
            return NULL;
        }
        p->helpers = i + 1;
        pthread_setname_np(p->threads[i], "mdd-engine");
    }
    pthread_once(&exit_once, make_exit_key);
    pthread_setspecific(exit_key, p);
    local_pool = p;
    return p;
}

void ckernels_pool_run(int threads, long count, ckernels_task_fn body, void *context) {
    pool *p = (threads > 1 && count > 1 && !inside_job && count <= MAX_COUNT) ? pool_for(threads - 1) : NULL;
    if (!p) {
        for (long i = 0; i < count; i++) body(context, i);
        return;
    }
    // Job numbers cycle through 1 ..< 2^32 (0 is the helpers' "none seen yet").
    unsigned long long job = p->job = p->job >= 0xffffffffULL ? 1 : p->job + 1;
    atomic_store_explicit(&p->body, body, memory_order_relaxed);
    atomic_store_explicit(&p->context, context, memory_order_relaxed);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    // Publishes the fields above (sequentially consistent: see await_job).
    atomic_store(&p->ticket, job << 32 | (unsigned long long)count << 16);
    if (atomic_load(&p->parked) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    inside_job = 1;
    run_claims(p, job);
    inside_job = 0;
    // Every index is claimed; wait for the helpers' last ones (yielding if one of them lost its core).
    for (int spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) < count; spins++) {
        if (spins < SPINS_BEFORE_YIELD) cpu_relax();
        else sched_yield();
    }
}

int ckernels_pool_helpers(void) { return local_pool ? local_pool->helpers : 0; }

void ckernels_pool_shutdown(void) {
    if (!local_pool) return;
    pool *p = local_pool;
    local_pool = NULL;
    pthread_setspecific(exit_key, NULL);
    stop_pool(p);
}
