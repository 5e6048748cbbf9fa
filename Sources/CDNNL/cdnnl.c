// oneDNN matmul for the engine (see cdnnl.h): a shape-keyed primitive cache, per-thread streams and scratchpads,
// single-threaded execution, and the fp32 ↔ bf16 conversions its bf16 operands need.
#define _GNU_SOURCE
#include "cdnnl.h"

#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static dnnl_engine_t engine;
static const char *version_text;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static _Thread_local char last_error[256];
static _Thread_local dnnl_stream_t thread_stream;
static _Thread_local void *thread_scratch;
static _Thread_local size_t thread_scratch_size;
static _Thread_local int thread_single;

static void set_error(const char *what, dnnl_status_t s) {
    snprintf(last_error, sizeof last_error, "oneDNN %s failed (status %d)", what, (int)s);
}

const char *cdnnl_last_error(void) { return last_error; }

static void init(void) {
#if defined(__x86_64__) && defined(SYS_arch_prctl)
    // AMX tiles need the process's permission (Linux ≥ 5.16) before the first tile instruction, and oneDNN only
    // reports AMX when it has it. Asked before oneDNN reads the CPU; asking again is harmless, and on CPUs without
    // AMX (or older kernels) the call fails without effect.
    syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */);
#endif
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) { engine = NULL; return; }
    static char text[32];
    const dnnl_version_t *v = dnnl_version();
    snprintf(text, sizeof text, "%d.%d.%d", v->major, v->minor, v->patch);
    version_text = text;
}

const char *cdnnl_version(void) {
    pthread_once(&init_once, init);
    return engine ? version_text : NULL;
}

const char *cdnnl_isa(void) {
    cdnnl_version();  // AMX permission first (init)
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_sse41: return "sse41";
    default: return "unknown";
    }
}

int cdnnl_has_native_bf16(void) {
    cdnnl_version();
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
}

// MARK: the calling thread's execution context

/// oneDNN asks OpenMP for its thread count at creation and execution: 1 on every thread that calls it, so it never
/// starts a team (libgomp is loaded with libdnnl; its symbol is looked up rather than linked).
static void make_single_threaded(void) {
    if (thread_single) return;
    thread_single = 1;
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    if (set) set(1);
}

static dnnl_stream_t stream(void) {
    if (!thread_stream && dnnl_stream_create(&thread_stream, engine, dnnl_stream_default_flags) != dnnl_success)
        thread_stream = NULL;
    return thread_stream;
}

/// The thread's scratchpad, at least `size` bytes (64-byte aligned), or NULL.
static void *scratch(size_t size) {
    if (size <= thread_scratch_size) return thread_scratch;
    free(thread_scratch);
    size = (size + 4095) & ~(size_t)4095;
    thread_scratch = aligned_alloc(64, size);
    thread_scratch_size = thread_scratch ? size : 0;
    return thread_scratch;
}

// MARK: the primitive cache

typedef struct {
    int type, trans_a, trans_b;
    long m, n, k, lda, ldb, ldc;
    uint32_t alpha, beta;  // bit patterns
} key_t_;

typedef struct {
    key_t_ key;
    int used;
    dnnl_primitive_t primitive;  // NULL: oneDNN has no implementation (cached too)
    dnnl_memory_desc_t a_md, b_md, c_md, scratch_md;
    size_t scratch_size;
    char impl[64];
} entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static entry *table;
static long capacity, filled;

static uint64_t hash(const key_t_ *k) {
    const unsigned char *p = (const unsigned char *)k;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < sizeof *k; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static entry *slot(entry *t, long cap, const key_t_ *k) {
    for (long i = (long)(hash(k) & (uint64_t)(cap - 1));; i = (i + 1) & (cap - 1))
        if (!t[i].used || memcmp(&t[i].key, k, sizeof *k) == 0) return &t[i];
}

static int grow(void) {
    long cap = capacity ? capacity * 2 : 256;
    entry *t = calloc((size_t)cap, sizeof *t);
    if (!t) return -1;
    for (long i = 0; i < capacity; i++)
        if (table[i].used) *slot(t, cap, &table[i].key) = table[i];
    free(table);
    table = t;
    capacity = cap;
    return 0;
}

/// Builds the primitive for `k` into `e` (e->primitive stays NULL when oneDNN has no implementation).
static dnnl_status_t build(entry *e, const key_t_ *k, float alpha, float beta) {
    dnnl_data_type_t in = k->type == CDNNL_BF16 ? dnnl_bf16 : dnnl_f32;
    dnnl_dims_t ad = {k->m, k->k}, bd = {k->k, k->n}, cd = {k->m, k->n};
    dnnl_dims_t as = {k->trans_a ? 1 : k->lda, k->trans_a ? k->lda : 1};
    dnnl_dims_t bs = {k->trans_b ? 1 : k->ldb, k->trans_b ? k->ldb : 1};
    dnnl_dims_t cs = {k->ldc, 1};
    dnnl_memory_desc_init_by_strides(&e->a_md, 2, ad, in, as);
    dnnl_memory_desc_init_by_strides(&e->b_md, 2, bd, in, bs);
    dnnl_memory_desc_init_by_strides(&e->c_md, 2, cd, dnnl_f32, cs);
    dnnl_primitive_attr_t attr;
    dnnl_status_t s = dnnl_primitive_attr_create(&attr);
    if (s != dnnl_success) return s;
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (alpha != 1) dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha);
    if (beta != 0) {
        dnnl_post_ops_t ops;
        dnnl_post_ops_create(&ops);
        dnnl_post_ops_append_sum(ops, beta);
        dnnl_primitive_attr_set_post_ops(attr, ops);
        dnnl_post_ops_destroy(ops);
    }
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd = NULL;
    s = dnnl_matmul_desc_init(&desc, &e->a_md, &e->b_md, NULL, &e->c_md);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (s == dnnl_unimplemented) return dnnl_success;  // cached as "no implementation"
    if (s != dnnl_success) return s;
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    snprintf(e->impl, sizeof e->impl, "%s", impl ? impl : "?");
    e->scratch_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    e->scratch_size = dnnl_memory_desc_get_size(&e->scratch_md);
    s = dnnl_primitive_create(&e->primitive, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

/// The cached entry for a product, built on first use; NULL on failure (last_error says why).
static const entry *lookup(const key_t_ *k, float alpha, float beta) {
    if (!cdnnl_version()) { snprintf(last_error, sizeof last_error, "oneDNN: no CPU engine"); return NULL; }
    make_single_threaded();
    pthread_mutex_lock(&cache_lock);
    entry *e = NULL;
    if ((filled + 1) * 4 > capacity * 3 && grow() != 0) goto done;
    e = slot(table, capacity, k);
    if (!e->used) {
        // Built under the lock: a render's shapes repeat, so each is built once and never contended after.
        memset(e, 0, sizeof *e);
        dnnl_status_t s = build(e, k, alpha, beta);
        if (s != dnnl_success) { set_error("matmul creation", s); e = NULL; goto done; }
        e->key = *k;
        e->used = 1;
        filled++;
    }
done:
    pthread_mutex_unlock(&cache_lock);
    return e;
}

static key_t_ make_key(cdnnl_type type, int ta, int tb, long m, long n, long k, float alpha, long lda, long ldb,
                       float beta, long ldc) {
    key_t_ key;
    memset(&key, 0, sizeof key);  // padding bytes are hashed and compared
    key.type = type; key.trans_a = ta != 0; key.trans_b = tb != 0;
    key.m = m; key.n = n; key.k = k; key.lda = lda; key.ldb = ldb; key.ldc = ldc;
    memcpy(&key.alpha, &alpha, 4);
    memcpy(&key.beta, &beta, 4);
    return key;
}

const char *cdnnl_matmul_impl(cdnnl_type type, int trans_a, int trans_b, long m, long n, long k, float alpha,
                              long lda, long ldb, float beta, long ldc) {
    key_t_ key = make_key(type, trans_a, trans_b, m, n, k, alpha, lda, ldb, beta, ldc);
    const entry *e = lookup(&key, alpha, beta);
    return e && e->primitive ? e->impl : NULL;
}

long cdnnl_cached_primitives(void) {
    pthread_mutex_lock(&cache_lock);
    long n = filled;
    pthread_mutex_unlock(&cache_lock);
    return n;
}

int cdnnl_matmul(cdnnl_type type, int trans_a, int trans_b, long m, long n, long k, float alpha, const void *a,
                 long lda, const void *b, long ldb, float beta, float *c, long ldc) {
    key_t_ key = make_key(type, trans_a, trans_b, m, n, k, alpha, lda, ldb, beta, ldc);
    const entry *e = lookup(&key, alpha, beta);
    if (!e) return dnnl_runtime_error;
    if (!e->primitive) {
        snprintf(last_error, sizeof last_error, "oneDNN has no %s matmul for %ldx%ldx%ld on this CPU",
                 type == CDNNL_BF16 ? "bf16" : "f32", m, k, n);
        return dnnl_unimplemented;
    }
    dnnl_stream_t st = stream();
    void *pad = scratch(e->scratch_size);
    if (!st || (e->scratch_size && !pad)) { snprintf(last_error, sizeof last_error, "oneDNN: no stream or scratchpad"); return dnnl_out_of_memory; }
    dnnl_memory_t mem[4] = {NULL, NULL, NULL, NULL};
    dnnl_status_t s = dnnl_memory_create(&mem[0], &e->a_md, engine, (void *)a);
    if (s == dnnl_success) s = dnnl_memory_create(&mem[1], &e->b_md, engine, (void *)b);
    if (s == dnnl_success) s = dnnl_memory_create(&mem[2], &e->c_md, engine, c);
    if (s == dnnl_success) s = dnnl_memory_create(&mem[3], &e->scratch_md, engine, pad);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, mem[0]}, {DNNL_ARG_WEIGHTS, mem[1]}, {DNNL_ARG_DST, mem[2]},
                                   {DNNL_ARG_SCRATCHPAD, mem[3]}};
        s = dnnl_primitive_execute(e->primitive, st, 4, args);
    }
    for (int i = 0; i < 4; i++) if (mem[i]) dnnl_memory_destroy(mem[i]);
    if (s != dnnl_success) set_error("matmul execution", s);
    return s == dnnl_success ? 0 : (int)s;
}

// MARK: conversions

static inline uint16_t to_bf16(float x) {
    uint32_t b;
    memcpy(&b, &x, 4);
    if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x40);  // NaN: quiet, payload kept
    return (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

#if defined(__x86_64__)
typedef uint32_t v16u __attribute__((vector_size(64)));
typedef uint16_t v16h __attribute__((vector_size(32)));

__attribute__((target("avx512f,avx512bw,avx512vl"))) static void to_bf16_avx512(const float *src, uint16_t *dst,
                                                                                   long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        v16u b;
        memcpy(&b, src + i, sizeof b);
        v16u rounded = (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
        v16u quiet = (b >> 16) | 0x40u;
        v16u nan = (b & 0x7fffffffu) > 0x7f800000u;  // all ones where NaN
        v16h h = __builtin_convertvector((rounded & ~nan) | (quiet & nan), v16h);
        memcpy(dst + i, &h, sizeof h);
    }
    for (; i < count; i++) dst[i] = to_bf16(src[i]);
}
#endif

void cdnnl_f32_to_bf16(const float *src, uint16_t *dst, long count) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
        to_bf16_avx512(src, dst, count);
        return;
    }
#endif
    for (long i = 0; i < count; i++) dst[i] = to_bf16(src[i]);
}

void cdnnl_bf16_to_f32(const uint16_t *src, float *dst, long count) {
    for (long i = 0; i < count; i++) {
        uint32_t b = (uint32_t)src[i] << 16;
        memcpy(dst + i, &b, 4);
    }
}
