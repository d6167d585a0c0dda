#ifndef MODALITIES_IMAGE_CODEC_H
#define MODALITIES_IMAGE_CODEC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel; `pixels` is owned by the caller after a decode
/// (free it with ic_image_free).
typedef struct {
    int width;
    int height;
    unsigned char *pixels;
} ic_image;

/// Decodes the PNG or JPEG file at `path` (told apart by their first bytes) into 8-bit RGB: grey, palette, alpha
/// and 16-bit PNGs are converted, alpha composited on black; CMYK JPEGs are refused. Returns 0, or -1 with a
/// message in `error` (at most `error_size` bytes, NUL-terminated) and `image` untouched.
int ic_decode_file(const char *path, ic_image *image, char *error, size_t error_size);

/// Writes 8-bit RGB pixels as a PNG file. Returns 0, or -1 with a message in `error`.
int ic_write_png(const char *path, const unsigned char *pixels, int width, int height, char *error, size_t error_size);

/// Writes 8-bit RGB pixels as a baseline JPEG file of `quality` (1…100). Returns 0, or -1 with a message in `error`.
int ic_write_jpeg(
    const char *path, const unsigned char *pixels, int width, int height, int quality, char *error, size_t error_size);

/// Frees the pixels a decode gave.
void ic_image_free(ic_image *image);

#ifdef __cplusplus
}
#endif

#endif
