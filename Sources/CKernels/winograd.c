// Winograd F(4×4, 3×3) input and output transforms (Winograd.transformInput / transformOutput in Swift, kept as the
// portable path and the tests' reference). The Swift versions work on SIMD8 vectors, which Swift compiles for
// baseline x86-64 as pairs of SSE instructions; here the same arithmetic, in the same order (no contraction into
// FMAs, so both give the same bits), is compiled for AVX2 and chosen at run time. Eight tiles per vector as in Swift.
#include "ckernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#pragma clang fp contract(off)

#if defined(__x86_64__)
#define ATTR __attribute__((target("avx2")))
#else
#define ATTR
#endif

typedef float v8 __attribute__((vector_size(32)));

static inline ATTR v8 ld(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
static inline ATTR void st(v8 v, float *p) { memcpy(p, &v, sizeof v); }
static inline ATTR void st_partial(v8 v, float *p, int lanes) {
    if (lanes == 8) st(v, p);
    else for (int l = 0; l < lanes; l++) p[l] = v[l];
}

/// Bᵀ applied to six vectors (each lane one tile), as Winograd.bt.
static inline ATTR void bt(v8 d0, v8 d1, v8 d2, v8 d3, v8 d4, v8 d5, v8 e[6]) {
    v8 a = d4 - d2, b = d3 - d1;
    e[0] = 4 * d0 - 5 * d2 + d4;
    e[1] = (d3 + d4) - 4 * (d1 + d2);
    e[2] = (d4 - d3) + 4 * (d1 - d2);
    e[3] = a + 2 * b;
    e[4] = a - 2 * b;
    e[5] = 4 * d1 - 5 * d3 + d5;
}

/// Aᵀ applied to six vectors → four, as Winograd.at.
static inline ATTR void at(v8 q0, v8 q1, v8 q2, v8 q3, v8 q4, v8 q5, v8 y[4]) {
    v8 s12 = q1 + q2, d12 = q1 - q2, s34 = q3 + q4, d34 = q3 - q4;
    y[0] = q0 + s12 + s34;
    y[1] = d12 + 2 * d34;
    y[2] = s12 + 4 * s34;
    y[3] = d12 + 8 * d34 + q5;
}

/// One input row (NULL: outside the image) with its zero padding, split into its four x-phases:
/// phase[p][t] = line[4t + p], line[x'] = row[x' − 1].
static ATTR void split_phases(const float *row, int w, int n8, float *line, float *phase, const ckernels_prologue *pro,
                              int c) {
    if (!row) { memset(phase, 0, sizeof(float) * 4 * (size_t)n8); return; }
    memset(line, 0, sizeof(float) * (4 * (size_t)n8 + 32));
    memcpy(line + 1, row, sizeof(float) * (size_t)w);
    if (pro) ckernels_affine(line + 1, w, pro->scale[c], pro->shift[c], pro->silu);
    for (int t = 0; t < n8; t += 8) {
        v8 x0 = ld(line + 4 * t), x1 = ld(line + 4 * t + 8), x2 = ld(line + 4 * t + 16), x3 = ld(line + 4 * t + 24);
        v8 a = __builtin_shufflevector(x0, x1, 0, 4, 8, 12, 1, 5, 9, 13);
        v8 b = __builtin_shufflevector(x0, x1, 2, 6, 10, 14, 3, 7, 11, 15);
        v8 c = __builtin_shufflevector(x2, x3, 0, 4, 8, 12, 1, 5, 9, 13);
        v8 d = __builtin_shufflevector(x2, x3, 2, 6, 10, 14, 3, 7, 11, 15);
        st(__builtin_shufflevector(a, c, 0, 1, 2, 3, 8, 9, 10, 11), phase + t);
        st(__builtin_shufflevector(a, c, 4, 5, 6, 7, 12, 13, 14, 15), phase + n8 + t);
        st(__builtin_shufflevector(b, d, 0, 1, 2, 3, 8, 9, 10, 11), phase + 2 * n8 + t);
        st(__builtin_shufflevector(b, d, 4, 5, 6, 7, 12, 13, 14, 15), phase + 3 * n8 + t);
    }
}

typedef unsigned int v8u __attribute__((vector_size(32)));
typedef unsigned short v8h __attribute__((vector_size(16)));

/// The first `lanes` of v rounded to bf16 (nearest, ties to even; NaN stays a quiet NaN): the same bits as
/// `cdnnl_f32_to_bf16` and `BF16.round`, so a transform that stores bf16 equals one that stores fp32 and converts.
static inline ATTR void st_bf16_partial(v8 v, uint16_t *p, int lanes) {
    v8u b;
    memcpy(&b, &v, sizeof b);
    v8u rounded = (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
    v8u quiet = (b >> 16) | 0x40u;
    v8u nan = (v8u)((b & 0x7fffffffu) > 0x7f800000u);  // all ones where NaN
    v8h h = __builtin_convertvector((rounded & ~nan) | (quiet & nan), v8h);
    if (lanes == 8) memcpy(p, &h, sizeof h);
    else for (int l = 0; l < lanes; l++) p[l] = h[l];
}

/// V for channels [c0, c1) into `v` (fp32) or, when `v` is NULL, into `vh` rounded to bf16.
static ATTR int input_avx2(const float *src, int c0, int c1, int cin, int h, int w, int tile_row0, int rows,
                           int tiles_w, const ckernels_prologue *pro, float *v, uint16_t *vh) {
    long tiles = (long)rows * tiles_w, k = (long)cin * tiles;
    int n8 = (tiles_w + 1 + 7) / 8 * 8 + 8, line_length = 4 * n8 + 32;
    float *tmp = malloc(sizeof(float) * ((size_t)line_length + 48 * (size_t)n8));
    if (!tmp) return -1;
    float *line = tmp, *phase = line + line_length, *col = phase + 24 * n8;
    for (int c = c0; c < c1; c++) {
        const float *plane = src + (size_t)c * h * w;
        for (int tr = 0; tr < rows; tr++) {
            int y0 = 4 * (tile_row0 + tr) - 1;
            for (int i = 0; i < 6; i++)
                split_phases(y0 + i < 0 || y0 + i >= h ? NULL : plane + (size_t)(y0 + i) * w, w, n8, line, phase + i * 4 * n8,
                             pro, c);
            // Columns: e_r = Σ_i Bᵀ[r][i]·d_i, per phase.
            for (int p = 0; p < 4; p++) {
                for (int t = 0; t < n8; t += 8) {
                    const float *d = phase + p * n8 + t;
                    v8 e[6];
                    bt(ld(d), ld(d + 4 * n8), ld(d + 8 * n8), ld(d + 12 * n8), ld(d + 16 * n8), ld(d + 20 * n8), e);
                    for (int r = 0; r < 6; r++) st(e[r], col + (4 * r + p) * n8 + t);
                }
            }
            // Rows: V[r][c'] = Σ_j Bᵀ[c'][j]·e_r[x_j], x_j = phases 0–3 at t, phases 0–1 at t + 1.
            long base = (long)tr * tiles_w;
            for (int r = 0; r < 6; r++) {
                const float *e = col + r * 4 * n8;
                for (int t = 0; t < tiles_w; t += 8) {
                    v8 q[6];
                    bt(ld(e + t), ld(e + n8 + t), ld(e + 2 * n8 + t), ld(e + 3 * n8 + t), ld(e + t + 1), ld(e + n8 + t + 1), q);
                    int lanes = tiles_w - t < 8 ? tiles_w - t : 8;
                    long at_ = ((long)r * 6 * cin + c) * tiles + base + t;
                    if (v) for (int j = 0; j < 6; j++) st_partial(q[j], v + at_ + j * k, lanes);
                    else for (int j = 0; j < 6; j++) st_bf16_partial(q[j], vh + at_ + j * k, lanes);
                }
            }
        }
    }
    free(tmp);
    return 0;
}

/// out[4l + j] = c_j[l] for l < 8: a 4×8 transpose into 32 contiguous floats.
static inline ATTR void interleave(v8 c0, v8 c1, v8 c2, v8 c3, float *out) {
    v8 lo01 = __builtin_shufflevector(c0, c1, 0, 8, 1, 9, 2, 10, 3, 11);
    v8 hi01 = __builtin_shufflevector(c0, c1, 4, 12, 5, 13, 6, 14, 7, 15);
    v8 lo23 = __builtin_shufflevector(c2, c3, 0, 8, 1, 9, 2, 10, 3, 11);
    v8 hi23 = __builtin_shufflevector(c2, c3, 4, 12, 5, 13, 6, 14, 7, 15);
    st(__builtin_shufflevector(lo01, lo23, 0, 1, 8, 9, 2, 3, 10, 11), out);
    st(__builtin_shufflevector(lo01, lo23, 4, 5, 12, 13, 6, 7, 14, 15), out + 8);
    st(__builtin_shufflevector(hi01, hi23, 0, 1, 8, 9, 2, 3, 10, 11), out + 16);
    st(__builtin_shufflevector(hi01, hi23, 4, 5, 12, 13, 6, 7, 14, 15), out + 24);
}

static ATTR void output_avx2(const float *m, int o0, int o1, int cout, int h, int w, int tile_row0, int rows,
                             int tiles_w, const float *bias, float *dst) {
    long tiles = (long)rows * tiles_w, stride = (long)cout * tiles;
    for (int o = o0; o < o1; o++) {
        v8 b = (v8){0} + (bias ? bias[o] : 0.0f);
        float *plane = dst + (size_t)o * h * w;
        for (int tr = 0; tr < rows; tr++) {
            int oy = 4 * (tile_row0 + tr);
            for (int t = 0; t < tiles_w; t += 8) {
                const float *p = m + o * tiles + (long)tr * tiles_w + t;
                v8 f[6][4];  // f_r = Aᵀ·(m[r][0...5]) along c
                for (int r = 0; r < 6; r++) {
                    const float *q = p + (long)r * 6 * stride;
                    at(ld(q), ld(q + stride), ld(q + 2 * stride), ld(q + 3 * stride), ld(q + 4 * stride), ld(q + 5 * stride), f[r]);
                }
                v8 y[4][4];  // y[j][i]: row i of column j of eight output tiles
                for (int j = 0; j < 4; j++) at(f[0][j], f[1][j], f[2][j], f[3][j], f[4][j], f[5][j], y[j]);
                int lanes = tiles_w - t < 8 ? tiles_w - t : 8;
                if (lanes == 8 && 4 * (t + 8) <= w && oy + 4 <= h) {
                    for (int i = 0; i < 4; i++) interleave(y[0][i] + b, y[1][i] + b, y[2][i] + b, y[3][i] + b, plane + (size_t)(oy + i) * w + 4 * t);
                } else {
                    for (int j = 0; j < 4; j++)
                        for (int i = 0; i < 4; i++) {
                            if (oy + i >= h) continue;
                            v8 val = y[j][i] + b;
                            float *out = plane + (size_t)(oy + i) * w + j;
                            for (int l = 0; l < lanes; l++)
                                if (4 * (t + l) + j < w) out[4 * (t + l)] = val[l];
                        }
                }
            }
        }
    }
}

int ckernels_winograd_input(const float *src, int c0, int c1, int cin, int h, int w, int tile_row0, int rows,
                            int tiles_w, const ckernels_prologue *prologue, float *v) {
    if (ckernels_simd_level() < 1) return 1;
    return input_avx2(src, c0, c1, cin, h, w, tile_row0, rows, tiles_w, prologue, v, NULL);
}

int ckernels_winograd_input_bf16(const float *src, int c0, int c1, int cin, int h, int w, int tile_row0, int rows,
                                 int tiles_w, const ckernels_prologue *prologue, uint16_t *v) {
    if (ckernels_simd_level() < 1) return 1;
    return input_avx2(src, c0, c1, cin, h, w, tile_row0, rows, tiles_w, prologue, NULL, v);
}

int ckernels_winograd_output(const float *m, int o0, int o1, int cout, int h, int w, int tile_row0, int rows,
                             int tiles_w, const float *bias, float *dst) {
    if (ckernels_simd_level() < 1) return 1;
    output_avx2(m, o0, o1, cout, h, w, tile_row0, rows, tiles_w, bias, dst);
    return 0;
}
