// Is oneDNN (Debian's libdnnl 2.6, the library PyTorch uses for CPU convolutions) a better GEMM backend here, and
// does it offer bf16 on this CPU? Times one M×K·K×N product in oneDNN f32, oneDNN bf16 (bf16 inputs, f32 output)
// and OpenBLAS sgemm, in one process. For each oneDNN type it times the weights (B) three ways: row-major [K, N]
// (ab), stored [N, K] as the engine's Linear layers keep them (ba), and reordered once into the layout the
// primitive asks for (format_tag_any, "prepacked") — the last says whether prepacking layer weights would pay on
// this CPU (on AMX the brgemm kernels otherwise copy B into their blocked layout on every call).
//
//   sudo apt-get install libdnnl-dev
//   cc -O2 benchmarks/onednn_matmul.c -o /tmp/onednn_matmul -ldnnl -lopenblas
//   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /tmp/onednn_matmul [M K N] [runs]   (one thread: as the engine calls it)
//
// Not part of the build or the tests: it is how the backend question in the README was answered.
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// Times a oneDNN matmul with the given input type; returns GFLOP/s, or 0 when oneDNN has no implementation.
// `b_tag`: dnnl_ab, dnnl_ba or dnnl_format_tag_any (then B is allocated in the layout the primitive chose).
static double onednn(dnnl_engine_t eng, dnnl_stream_t st, dnnl_data_type_t in, dnnl_format_tag_t b_tag, int m, int k,
                     int n, int runs) {
    dnnl_memory_desc_t a_md, b_md, c_md, ab_md, ba_md;
    dnnl_dims_t ad = {m, k}, bd = {k, n}, cd = {m, n};
    dnnl_memory_desc_init_by_tag(&a_md, 2, ad, in, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&b_md, 2, bd, in, b_tag);
    dnnl_memory_desc_init_by_tag(&ab_md, 2, bd, in, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&ba_md, 2, bd, in, dnnl_ba);
    dnnl_memory_desc_init_by_tag(&c_md, 2, cd, dnnl_f32, dnnl_ab);
    dnnl_matmul_desc_t desc;
    dnnl_matmul_desc_init(&desc, &a_md, &b_md, NULL, &c_md);
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_primitive_desc_create(&pd, &desc, NULL, eng, NULL);
    const char *name = in == dnnl_bf16 ? "bf16" : "f32";
    const char *b_name = b_tag == dnnl_ab ? "B ab" : b_tag == dnnl_ba ? "B ba" : "B prepacked";
    if (s != dnnl_success) {
        printf("oneDNN %-4s %-11s: no implementation on this CPU (status %d)\n", name, b_name, (int)s);
        return 0;
    }
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    // The layout B will be in: the primitive's choice when asked for any (a one-time reorder would put it there).
    b_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const char *layout = b_tag != dnnl_format_tag_any ? "" : dnnl_memory_desc_equal(&b_md, &ab_md) ? ", chose ab"
                       : dnnl_memory_desc_equal(&b_md, &ba_md) ? ", chose ba" : ", chose a blocked layout";
    dnnl_primitive_t prim;
    dnnl_primitive_create(&prim, pd);
    dnnl_memory_t a, b, c;
    dnnl_memory_create(&a, &a_md, eng, DNNL_MEMORY_ALLOCATE);
    dnnl_memory_create(&b, &b_md, eng, DNNL_MEMORY_ALLOCATE);
    dnnl_memory_create(&c, &c_md, eng, DNNL_MEMORY_ALLOCATE);
    void *p;
    size_t elem = in == dnnl_bf16 ? 2 : 4;
    dnnl_memory_get_data_handle(a, &p); memset(p, 0x3f, (size_t)m * k * elem);
    dnnl_memory_get_data_handle(b, &p); memset(p, 0x3f, dnnl_memory_desc_get_size(&b_md));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
    dnnl_primitive_execute(prim, st, 3, args);
    dnnl_stream_wait(st);
    double t0 = now();
    for (int r = 0; r < runs; r++) dnnl_primitive_execute(prim, st, 3, args);
    dnnl_stream_wait(st);
    double gflops = 2.0 * m * k * n * runs / (now() - t0) / 1e9;
    printf("oneDNN %-4s %-11s: %6.1f GFLOP/s  (%s%s)\n", name, b_name, gflops, impl ? impl : "?", layout);
    dnnl_memory_destroy(a); dnnl_memory_destroy(b); dnnl_memory_destroy(c);
    dnnl_primitive_destroy(prim);
    dnnl_primitive_desc_destroy(pd);
    return gflops;
}

int main(int argc, char **argv) {
    int m = argc > 3 ? atoi(argv[1]) : 1024, k = argc > 3 ? atoi(argv[2]) : 1024, n = argc > 3 ? atoi(argv[3]) : 1024;
    int runs = argc > 4 ? atoi(argv[4]) : 20;
    printf("%d x %d x %d, %d runs; OpenBLAS core %s, %d threads\n", m, k, n, runs, openblas_get_corename(), openblas_get_num_threads());
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), *c = malloc(sizeof(float) * m * n);
    for (long i = 0; i < (long)m * k; i++) a[i] = 0.5f;
    for (long i = 0; i < (long)k * n; i++) b[i] = 0.25f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
    double t0 = now();
    for (int r = 0; r < runs; r++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
    printf("OpenBLAS f32            : %6.1f GFLOP/s\n", 2.0 * m * k * n * runs / (now() - t0) / 1e9);
    dnnl_engine_t eng;
    dnnl_stream_t st;
    dnnl_engine_create(&eng, dnnl_cpu, 0);
    dnnl_stream_create(&st, eng, dnnl_stream_default_flags);
    dnnl_data_type_t types[2] = {dnnl_f32, dnnl_bf16};
    dnnl_format_tag_t tags[3] = {dnnl_ab, dnnl_ba, dnnl_format_tag_any};
    for (int t = 0; t < 2; t++)
        for (int g = 0; g < 3; g++) onednn(eng, st, types[t], tags[g], m, k, n, runs);
    dnnl_stream_destroy(st);
    dnnl_engine_destroy(eng);
    free(a); free(b); free(c);
    return 0;
}
