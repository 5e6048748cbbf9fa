// Direct 3×3 convolution for layers with few channels (a small decoder's 16- and 32-channel layers at 64×64 and
// 128×128), where im2col's K = 9·cin and Winograd's K = cin make tiny matrix products and the transforms cost more
// than the multiplies. Register block: 4 output channels × 16 pixels of one row (8 accumulators of 8 floats); each
// step loads two input vectors and broadcasts four weights for eight FMAs. With AVX-512, the same block 32 pixels wide.
#include "ckernels.h"

size_t ckernels_packed3x3_count(int cout, int cin) { return (size_t)((cout + 3) / 4) * cin * 9 * 4; }

void ckernels_pack3x3(const float *weight, int cout, int cin, float *packed) {
    for (int cb = 0; cb < (cout + 3) / 4; cb++)
        for (int ci = 0; ci < cin; ci++)
            for (int t = 0; t < 9; t++)
                for (int j = 0; j < 4; j++) {
                    int co = cb * 4 + j;
                    packed[(((size_t)cb * cin + ci) * 9 + t) * 4 + j] = co < cout ? weight[((size_t)co * cin + ci) * 9 + t] : 0.0f;
                }
}

// One output row y of one block of 4 output channels: pk = the block's packed weights [cin][9][4], bias4 = its
// biases (0 past cout), nco = its real channels (≤ 4), out = its first channel's plane [h][w]. Each path of the
// kernel is one such function; `for_each_row` walks blocks and rows for all of them.
typedef void (*row_fn)(const float *padded, int cin, int h, int w, const float *pk, const float *bias4, int nco,
                       float *out, int y);

static void for_each_row(row_fn row, const float *padded, int cin, int h, int w, const float *packed, int cout,
                         const float *bias, float *dst, int row0, int row1) {
    for (int cb = 0; cb < (cout + 3) / 4; cb++) {
        int nco = cout - cb * 4 < 4 ? cout - cb * 4 : 4;
        float bias4[4];
        for (int j = 0; j < 4; j++) bias4[j] = bias && j < nco ? bias[cb * 4 + j] : 0.0f;
        const float *pk = packed + (size_t)cb * cin * 9 * 4;
        for (int y = row0; y < row1; y++) row(padded, cin, h, w, pk, bias4, nco, dst + (size_t)cb * 4 * h * w, y);
    }
}

// Blocks of 16 pixels in plain C (the reference shape of the vector code; compilers vectorise it for SSE).
static void row_portable(const float *padded, int cin, int h, int w, const float *pk, const float *bias4, int nco,
                         float *out, int y) {
    const int wp = w + 2 + 16;
    for (int x0 = 0; x0 < w; x0 += 16) {
        int n = w - x0 < 16 ? w - x0 : 16;
        float acc[4][16];
        for (int j = 0; j < 4; j++)
            for (int i = 0; i < 16; i++) acc[j][i] = bias4[j];
        for (int ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < 3; ky++) {
                const float *row = padded + ((size_t)ci * (h + 2) + y + ky) * wp + x0;
                for (int kx = 0; kx < 3; kx++) {
                    const float *wv = pk + ((size_t)ci * 9 + ky * 3 + kx) * 4;
                    for (int j = 0; j < 4; j++)
                        for (int i = 0; i < 16; i++) acc[j][i] += wv[j] * row[kx + i];
                }
            }
        for (int j = 0; j < nco; j++)
            for (int i = 0; i < n; i++) out[((size_t)j * h + y) * w + x0 + i] = acc[j][i];
    }
}

void ckernels_conv3x3_portable(const float *padded, int cin, int h, int w, const float *packed, int cout, const float *bias,
                               float *dst, int row0, int row1) {
    for_each_row(row_portable, padded, cin, h, w, packed, cout, bias, dst, row0, row1);
}

#if defined(__x86_64__)
#include <immintrin.h>

// Blocks of 16 pixels: 2 vectors of 8 per output channel.
__attribute__((target("avx2,fma")))
static void row_avx2(const float *padded, int cin, int h, int w, const float *pk, const float *bias4, int nco,
                     float *out, int y) {
    const int wp = w + 2 + 16;
    for (int x0 = 0; x0 < w; x0 += 16) {
        __m256 a00 = _mm256_set1_ps(bias4[0]), a01 = a00, a10 = _mm256_set1_ps(bias4[1]), a11 = a10;
        __m256 a20 = _mm256_set1_ps(bias4[2]), a21 = a20, a30 = _mm256_set1_ps(bias4[3]), a31 = a30;
        for (int ci = 0; ci < cin; ci++) {
            const float *wk = pk + (size_t)ci * 36;
            const float *base = padded + ((size_t)ci * (h + 2) + y) * wp + x0;
            for (int ky = 0; ky < 3; ky++) {
                const float *row = base + ky * wp;
                for (int kx = 0; kx < 3; kx++) {
                    __m256 v0 = _mm256_loadu_ps(row + kx), v1 = _mm256_loadu_ps(row + kx + 8);
                    const float *wv = wk + (ky * 3 + kx) * 4;
                    __m256 w0 = _mm256_broadcast_ss(wv), w1 = _mm256_broadcast_ss(wv + 1);
                    __m256 w2 = _mm256_broadcast_ss(wv + 2), w3 = _mm256_broadcast_ss(wv + 3);
                    a00 = _mm256_fmadd_ps(w0, v0, a00); a01 = _mm256_fmadd_ps(w0, v1, a01);
                    a10 = _mm256_fmadd_ps(w1, v0, a10); a11 = _mm256_fmadd_ps(w1, v1, a11);
                    a20 = _mm256_fmadd_ps(w2, v0, a20); a21 = _mm256_fmadd_ps(w2, v1, a21);
                    a30 = _mm256_fmadd_ps(w3, v0, a30); a31 = _mm256_fmadd_ps(w3, v1, a31);
                }
            }
        }
        __m256 acc[8] = {a00, a01, a10, a11, a20, a21, a30, a31};
        int n = w - x0 < 16 ? w - x0 : 16;
        for (int j = 0; j < nco; j++) {
            float *o = out + ((size_t)j * h + y) * w + x0;
            if (n == 16) {
                _mm256_storeu_ps(o, acc[2 * j]);
                _mm256_storeu_ps(o + 8, acc[2 * j + 1]);
            } else {
                float tmp[16];
                _mm256_storeu_ps(tmp, acc[2 * j]);
                _mm256_storeu_ps(tmp + 8, acc[2 * j + 1]);
                for (int i = 0; i < n; i++) o[i] = tmp[i];
            }
        }
    }
}

// Blocks of 32 pixels: 2 vectors of 16 per output channel. Row tails use masked loads and stores: masked-off
// lanes neither fault nor write, so a block may start anywhere in the padded row (its 16 spare columns cover the
// AVX2 block only).
__attribute__((target("avx512f")))
static void row_avx512(const float *padded, int cin, int h, int w, const float *pk, const float *bias4, int nco,
                       float *out, int y) {
    const int wp = w + 2 + 16;
    for (int x0 = 0; x0 < w; x0 += 32) {
        int n = w - x0 < 32 ? w - x0 : 32;
        __mmask16 m0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
        __mmask16 m1 = n >= 32 ? (__mmask16)0xFFFF : n > 16 ? (__mmask16)((1u << (n - 16)) - 1) : (__mmask16)0;
        __m512 a00 = _mm512_set1_ps(bias4[0]), a01 = a00, a10 = _mm512_set1_ps(bias4[1]), a11 = a10;
        __m512 a20 = _mm512_set1_ps(bias4[2]), a21 = a20, a30 = _mm512_set1_ps(bias4[3]), a31 = a30;
        for (int ci = 0; ci < cin; ci++) {
            const float *wk = pk + (size_t)ci * 36;
            const float *base = padded + ((size_t)ci * (h + 2) + y) * wp + x0;
            for (int ky = 0; ky < 3; ky++) {
                const float *row = base + ky * wp;
                for (int kx = 0; kx < 3; kx++) {
                    __m512 v0 = _mm512_maskz_loadu_ps(m0, row + kx), v1 = _mm512_maskz_loadu_ps(m1, row + kx + 16);
                    const float *wv = wk + (ky * 3 + kx) * 4;
                    __m512 w0 = _mm512_set1_ps(wv[0]), w1 = _mm512_set1_ps(wv[1]);
                    __m512 w2 = _mm512_set1_ps(wv[2]), w3 = _mm512_set1_ps(wv[3]);
                    a00 = _mm512_fmadd_ps(w0, v0, a00); a01 = _mm512_fmadd_ps(w0, v1, a01);
                    a10 = _mm512_fmadd_ps(w1, v0, a10); a11 = _mm512_fmadd_ps(w1, v1, a11);
                    a20 = _mm512_fmadd_ps(w2, v0, a20); a21 = _mm512_fmadd_ps(w2, v1, a21);
                    a30 = _mm512_fmadd_ps(w3, v0, a30); a31 = _mm512_fmadd_ps(w3, v1, a31);
                }
            }
        }
        __m512 acc[8] = {a00, a01, a10, a11, a20, a21, a30, a31};
        for (int j = 0; j < nco; j++) {
            float *o = out + ((size_t)j * h + y) * w + x0;
            _mm512_mask_storeu_ps(o, m0, acc[2 * j]);
            _mm512_mask_storeu_ps(o + 16, m1, acc[2 * j + 1]);
        }
    }
}

int ckernels_simd_level(void) {
    // Atomic loads and stores: workers call this concurrently (a plain static was a data race under ThreadSanitizer);
    // racing first callers compute the same value.
    static int cached = -1;
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level < 0) {
        __builtin_cpu_init();
        level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") ? 2
              : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
}

void ckernels_conv3x3_level(int level, const float *padded, int cin, int h, int w, const float *packed, int cout,
                            const float *bias, float *dst, int row0, int row1) {
    if (level > ckernels_simd_level()) level = ckernels_simd_level();
    // Rows of at most 16 pixels fill only half of the AVX-512 block: the AVX2 one does the same work there.
    row_fn row = level == 2 && w > 16 ? row_avx512 : level >= 1 ? row_avx2 : row_portable;
    for_each_row(row, padded, cin, h, w, packed, cout, bias, dst, row0, row1);
}
#else
int ckernels_simd_level(void) { return 0; }
void ckernels_conv3x3_level(int level, const float *padded, int cin, int h, int w, const float *packed, int cout,
                            const float *bias, float *dst, int row0, int row1) {
    (void)level;
    ckernels_conv3x3_portable(padded, cin, h, w, packed, cout, bias, dst, row0, row1);
}
#endif

void ckernels_conv3x3(const float *padded, int cin, int h, int w, const float *packed, int cout, const float *bias,
                      float *dst, int row0, int row1) {
    ckernels_conv3x3_level(2, padded, cin, h, w, packed, cout, bias, dst, row0, row1);
}
