// ckernels: the engine's C kernels (direct 3×3 convolution, GroupNorm's statistics and epilogue, the worker pool),
// with x86 vector paths chosen at run time (AVX-512, else AVX2 + FMA, portable C otherwise). Swift calls them
// from Sources/Engine/Kernels.
#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>
#include <stdint.h>
#include "ckernels_pool.h"

/// 3×3, stride 1, zero padding 1 convolution over output rows [row0, row1).
/// padded: the input with a zero border, [cin][h + 2][w + 2 + 16] (the 16 spare columns are read, never used);
/// packed: the weights from `ckernels_pack3x3`; bias: [cout] or NULL; dst: [cout][h][w].
void ckernels_conv3x3(const float *padded, int cin, int h, int w, const float *packed, int cout, const float *bias,
                      float *dst, int row0, int row1);

/// The portable C path alone (tests compare both paths with the naive convolution).
void ckernels_conv3x3_portable(const float *padded, int cin, int h, int w, const float *packed, int cout,
                               const float *bias, float *dst, int row0, int row1);

/// Floats `ckernels_pack3x3` writes for cout × cin weights.
size_t ckernels_packed3x3_count(int cout, int cin);

/// weight: [cout][cin][3][3] → blocks of 4 output channels: [cout/4 rounded up][cin][9][4], zero-filled past cout.
void ckernels_pack3x3(const float *weight, int cout, int cin, float *packed);

/// The widest path this CPU runs: 2 = AVX-512 (+ FMA), 1 = AVX2 + FMA, 0 = portable C.
int ckernels_simd_level(void);

/// ckernels_conv3x3 with the path capped at `level` (tests run every path the CPU has).
void ckernels_conv3x3_level(int level, const float *padded, int cin, int h, int w, const float *packed, int cout,
                            const float *bias, float *dst, int row0, int row1);

/// Mean and biased variance of p[0, n) (GroupNorm's statistics): two passes, float lanes summed into a double every
/// 1,024 values. The widest path the CPU has (AVX-512, AVX2 + FMA, portable).
void ckernels_moments(const float *p, long n, double *mean, double *variance);

/// p[i] = p[i]·scale + shift, then x·σ(x) when silu is non-zero (GroupNorm's per-channel epilogue), in place.
void ckernels_affine(float *p, long n, float scale, float shift, int silu);

/// The two above with the path capped at `level` (2 AVX-512, 1 AVX2 + FMA, 0 portable), for tests.
void ckernels_moments_level(int level, const float *p, long n, double *mean, double *variance);
void ckernels_affine_level(int level, float *p, long n, float scale, float shift, int silu);

/// Depthwise 3×3 convolution, stride 1, zero padding 1, over channels [c0, c1): src [C][h][w], weight [C][3][3],
/// bias [C] or NULL → dst [C][h][w]. Returns 0, or -1 when its scratch plane cannot be allocated.
int ckernels_depthwise3x3(const float *src, int h, int w, const float *weight, const float *bias, float *dst, int c0,
                          int c1);
/// The same with the path capped at `level` (tests).
int ckernels_depthwise3x3_level(int level, const float *src, int h, int w, const float *weight, const float *bias,
                                float *dst, int c0, int c1);

/// A per-channel affine, then SiLU if `silu`, applied (by `ckernels_affine`) to every input row as a Winograd input
/// transform reads it, before the zero padding: the GroupNorm (+ SiLU) that precedes a ResNet block's convolution,
/// fused into it, so the normalised tensor is never written. scale, shift: [cin].
typedef struct {
    const float *scale, *shift;
    int silu;
} ckernels_prologue;

/// Softmax of row p[0..<valid] (AttentionKernel.softmaxRow's vector twin; its sums in another order), masked keys
/// valid..<count weighing 0: into p, or with `out` non-NULL into out[0..<count] rounded to bf16 (p then holds
/// exp(x − max), unnormalised). Returns 0; 1 without AVX2 (the caller runs the Swift path).
int ckernels_softmax_row(float *p, long count, long valid, uint16_t *out);

/// Winograd F(4×4, 3×3) input transform (Winograd.transformInput's AVX2 twin, same bits) for channels [c0, c1):
/// src [cin][h][w] (through `prologue` unless NULL) → v [36][cin][rows·tiles_w]. Returns 0; 1 when the CPU has no
/// AVX2 (the caller runs the Swift path); -1 when its scratch cannot be allocated.
int ckernels_winograd_input(const float *src, int c0, int c1, int cin, int h, int w, int tile_row0, int rows,
                            int tiles_w, const ckernels_prologue *prologue, float *v);
/// The same, storing V rounded to bf16 (nearest even, as `cdnnl_f32_to_bf16`) for the native bf16 products.
int ckernels_winograd_input_bf16(const float *src, int c0, int c1, int cin, int h, int w, int tile_row0, int rows,
                                 int tiles_w, const ckernels_prologue *prologue, uint16_t *v);

/// im2col of channels [c0, c1) of src [C][h][w] for output rows [row_start, row_start + rows), written as bf16
/// (nearest even, as `cdnnl_f32_to_bf16`) into col [C·k·k][rows·wo] (Im2Col.fill's layout).
void ckernels_im2col_bf16(const float *src, int c0, int c1, int h, int w, int k, int stride, int padding, int row_start,
                          int rows, int wo, uint16_t *col);

/// Winograd F(4×4, 3×3) output transform (Winograd.transformOutput's AVX2 twin, same bits) for outputs [o0, o1):
/// m [36][cout][rows·tiles_w] → dst [cout][h][w] (+ bias, or NULL). Returns 0, or 1 without AVX2.
int ckernels_winograd_output(const float *m, int o0, int o1, int cout, int h, int w, int tile_row0, int rows,
                             int tiles_w, const float *bias, float *dst);
#endif
