// im2col straight into bf16 for the native bf16 products of 3×3 (and other k×k) convolutions: the column matrix is
// written once, already rounded, instead of as fp32 columns that the GEMM converts in a second pass (half the bytes
// written, no fp32 column buffer). Rounding: nearest, ties to even, NaN kept quiet — the bits of
// `cdnnl_f32_to_bf16` and `BF16.round`, so the product equals one on fp32 columns converted afterwards.
#include "ckernels.h"

#include <string.h>

static inline uint16_t round_bf16(float x) {
    uint32_t b;
    memcpy(&b, &x, 4);
    uint32_t rounded = (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
    return (b & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((b >> 16) | 0x40u) : (uint16_t)rounded;
}

#if defined(__x86_64__)
__attribute__((target("avx2")))
#endif
static void convert_line(const float *src, uint16_t *dst, int n) {
    for (int i = 0; i < n; i++) dst[i] = round_bf16(src[i]);
}

void ckernels_im2col_bf16(const float *src, int c0, int c1, int h, int w, int k, int stride, int padding, int row_start,
                          int rows, int wo, uint16_t *col) {
    long n = (long)rows * wo;
    for (int c = c0; c < c1; c++) {
        const float *plane = src + (long)c * h * w;
        for (int ky = 0; ky < k; ky++) {
            for (int kx = 0; kx < k; kx++) {
                uint16_t *dst_row = col + ((long)(c * k + ky) * k + kx) * n;
                for (int r = 0; r < rows; r++) {
                    int iy = (row_start + r) * stride - padding + ky;
                    uint16_t *d = dst_row + (long)r * wo;
                    if (iy < 0 || iy >= h) { memset(d, 0, sizeof(uint16_t) * (size_t)wo); continue; }
                    const float *line = plane + (long)iy * w;
                    if (stride == 1) {
                        // ix = ox − padding + kx: convert the valid middle, zero the borders.
                        int lo = padding - kx > 0 ? padding - kx : 0;
                        int hi = w + padding - kx < wo ? w + padding - kx : wo;
                        if (hi < lo) hi = lo;
                        if (lo > 0) memset(d, 0, sizeof(uint16_t) * (size_t)lo);
                        convert_line(line + (lo - padding + kx), d + lo, hi - lo);
                        if (hi < wo) memset(d + hi, 0, sizeof(uint16_t) * (size_t)(wo - hi));
                    } else {
                        for (int ox = 0; ox < wo; ox++) {
                            int ix = ox * stride - padding + kx;
                            d[ox] = ix >= 0 && ix < w ? round_bf16(line[ix]) : 0;
                        }
                    }
                }
            }
        }
    }
}
