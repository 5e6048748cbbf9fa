// cdnnl: the engine's door to oneDNN (Debian's libdnnl 2.6), kept in C so that no oneDNN type reaches Swift.
//
// Threads: oneDNN is built with OpenMP, and the engine has its own spinning pool (ckernels_pool.h). Two thread
// systems on two cores oversubscribe them, so oneDNN never starts an OpenMP team here: every call runs on the
// calling thread alone (its OpenMP thread count is set to 1 first), and the engine splits a product into blocks
// over its own pool, one single-threaded oneDNN call per block — as it does with OpenBLAS. The blocks depend on the
// product's shape only, so a render stays bit-identical for any thread count.
//
// Concurrency: primitives are cached by shape and shared between threads; each thread executes them with its own
// stream and its own scratchpad (oneDNN's "user" scratchpad mode), so concurrent calls never share a buffer.
#ifndef CDNNL_H
#define CDNNL_H
#include <stddef.h>
#include <stdint.h>

/// Operand types of a product: fp32 or bf16 (bf16 operands, fp32 accumulation and output).
typedef enum { CDNNL_F32 = 0, CDNNL_BF16 = 1 } cdnnl_type;

/// The oneDNN version ("2.6.3"), or NULL when the library could not be initialised.
const char *cdnnl_version(void);

/// The instruction set oneDNN's kernels use on this CPU: "avx512_core_amx", "avx512_core_bf16", "avx512_core",
/// "avx2", … (dnnl_get_effective_cpu_isa).
const char *cdnnl_isa(void);

/// Whether oneDNN runs bf16 products natively here (AVX512-BF16 or AMX), not by conversion to fp32.
int cdnnl_has_native_bf16(void);

/// Row-major C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C[m, n] on the calling thread.
/// A and B are fp32 or bf16 (`type`, uint16 storage for bf16), C is fp32; lda/ldb/ldc are row strides as stored
/// (A stored [k, m] when trans_a, B stored [n, k] when trans_b). Returns 0, or a oneDNN status (> 0) when it has no
/// implementation for the product or a call fails; `cdnnl_last_error` then says which.
int cdnnl_matmul(cdnnl_type type, int trans_a, int trans_b, long m, long n, long k, float alpha, const void *a,
                 long lda, const void *b, long ldb, float beta, float *c, long ldc);

/// The implementation oneDNN chose for that product ("brg:avx512_core_bf16", …), or NULL if it has none.
const char *cdnnl_matmul_impl(cdnnl_type type, int trans_a, int trans_b, long m, long n, long k, float alpha,
                              long lda, long ldb, float beta, long ldc);

/// The calling thread's last failure, as text ("" when none).
const char *cdnnl_last_error(void);

/// Primitives in the shape cache (tests, diagnostics).
long cdnnl_cached_primitives(void);

/// fp32 → bf16 with round-to-nearest-even (NaN stays NaN, made quiet; ±inf stay; overflow rounds to ±inf), the
/// rounding of the engine's `BF16.round`; AVX-512 when the CPU has it.
void cdnnl_f32_to_bf16(const float *src, uint16_t *dst, long count);

/// bf16 → fp32 (exact).
void cdnnl_bf16_to_f32(const uint16_t *src, float *dst, long count);
#endif
