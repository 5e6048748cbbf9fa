// ckernels: convolution kernels that need x86 vector instructions chosen at run time (AVX-512, else AVX2 + FMA when
// the CPU has them, portable C otherwise). The Swift engine calls them through `DirectConv` (Sources/Engine/Kernels).
#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>
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
#endif
