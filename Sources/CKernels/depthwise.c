// Depthwise 3×3 convolution (stride 1, zero padding 1): the first half of every separable convolution in the
// MobileDiffusion UNet. Each channel is copied once into a zero-bordered plane, then each output row is nine
// multiply-adds of shifted rows, WIDTH pixels at a time (16 with AVX-512, 8 with AVX2 + FMA, 4 portable; chosen at
// run time). The Swift loop it replaces (DepthwiseConv.forward, kept as the general path and reference) ran as
// SSE pairs, one tap at a time over the whole plane.
#include "ckernels.h"
#include "vector.h"

#include <stdlib.h>

#define DEFINE_DEPTHWISE(SUFFIX, WIDTH, ATTR)                                                                        \
    DEFINE_VECTOR_TYPES(SUFFIX, WIDTH, ATTR)                                                                         \
                                                                                                                     \
    /* pad: [h + 2][stride] with the plane at (1, 1), zeros elsewhere (stride ≥ w + 2 + WIDTH). */                  \
    static ATTR void plane_##SUFFIX(const float *pad, int stride, int h, int w, const float *k, float bias,          \
                                    float *out) {                                                                    \
        for (int oy = 0; oy < h; oy++) {                                                                             \
            for (int ox = 0; ox < w; ox += WIDTH) {                                                                  \
                vf_##SUFFIX acc = splat_##SUFFIX(bias);                                                              \
                for (int ky = 0; ky < 3; ky++) {                                                                     \
                    const float *row = pad + (oy + ky) * stride + ox;                                                \
                    for (int kx = 0; kx < 3; kx++) acc += k[ky * 3 + kx] * load_##SUFFIX(row + kx);                 \
                }                                                                                                    \
                int n = w - ox < WIDTH ? w - ox : WIDTH; /* the row's last vector may run past w: keep its head */  \
                memcpy(out + oy * w + ox, &acc, (size_t)n * sizeof(float));                                          \
            }                                                                                                        \
        }                                                                                                            \
    }

FOR_EACH_VECTOR_WIDTH(DEFINE_DEPTHWISE)

int ckernels_depthwise3x3_level(int level, const float *src, int h, int w, const float *weight, const float *bias,
                                float *dst, int c0, int c1) {
    int top = ckernels_simd_level();
    if (level > top) level = top;
    if (level == 2 && w <= 8) level = 1;  // rows of ≤ 8 pixels would fill half a 16-lane vector or less
    int stride = w + 2 + 16;  // 16 spare zeros: the widest vector read past the border stays inside the plane
    float *pad = calloc((size_t)(h + 2) * (size_t)stride, sizeof(float));
    if (!pad) return -1;
    for (int c = c0; c < c1; c++) {
        const float *plane = src + (size_t)c * h * w;
        for (int y = 0; y < h; y++) memcpy(pad + (y + 1) * stride + 1, plane + (size_t)y * w, (size_t)w * sizeof(float));
        const float *k = weight + (size_t)c * 9;
        float b = bias ? bias[c] : 0, *out = dst + (size_t)c * h * w;
        switch (level) {
#if defined(__x86_64__)
        case 2: plane_avx512(pad, stride, h, w, k, b, out); break;
        case 1: plane_avx2(pad, stride, h, w, k, b, out); break;
#endif
        default: plane_portable(pad, stride, h, w, k, b, out); break;
        }
    }
    free(pad);
    return 0;
}

int ckernels_depthwise3x3(const float *src, int h, int w, const float *weight, const float *bias, float *dst, int c0,
                          int c1) {
    return ckernels_depthwise3x3_level(2, src, h, w, weight, bias, dst, c0, c1);
}
