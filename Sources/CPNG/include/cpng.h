// cpng: one function that encodes an 8-bit RGB image to PNG bytes in memory, with tEXt/iTXt chunks.
// libpng reports errors by longjmp; this shim keeps that inside C and returns an error string instead.
#ifndef CPNG_H
#define CPNG_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;   // malloc'd PNG bytes, free with cpng_free
    size_t size;
    char error[256]; // empty on success
} cpng_result;

/// Encodes `rgb` ([height, width, 3] bytes) as PNG. `keys`/`values` are `count` UTF-8 strings stored as iTXt.
/// `compression_level`: zlib 0-9; levels up to 3 use the Paeth filter on every row, higher ones libpng's adaptive choice.
int cpng_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height,
                    const char *const *keys, const char *const *values, int count,
                    int compression_level, cpng_result *out);

/// Decodes a PNG into malloc'd 8-bit RGB; used by tests and by output verification.
int cpng_decode_rgb(const uint8_t *png, size_t size, uint8_t **rgb, uint32_t *width, uint32_t *height,
                    char *error, size_t error_size);

void cpng_free(void *p);
#endif
