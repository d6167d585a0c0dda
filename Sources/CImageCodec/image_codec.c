// PNG (libpng's simplified API) and JPEG (libjpeg-turbo) decoding for image datasets. libjpeg reports errors by
// calling a function that must not return, so its errors longjmp back here; nothing else in the project can do that.
#include "image_codec.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>  // after stdio.h: it uses FILE
#include <png.h>

/// The largest image decoded: 2^26 pixels (about 67 megapixels, 201 MB of RGB), so that a header claiming a huge
/// size cannot make a dataset allocate gigabytes.
#define IC_MAX_PIXELS ((size_t)1 << 26)

static void set_error(char *error, size_t size, const char *format, const char *detail) {
    if (error && size > 0) snprintf(error, size, format, detail);
}

static int decode_png(const char *path, ic_image *image, char *error, size_t error_size) {
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&png, path)) {
        set_error(error, error_size, "not a readable PNG: %s", png.message);
        return -1;
    }
    png.format = PNG_FORMAT_RGB;
    if (png.width == 0 || png.height == 0 || png.width > 65536 || png.height > 65536 ||
        (size_t)png.width * png.height > IC_MAX_PIXELS) {
        png_image_free(&png);
        set_error(error, error_size, "%s", "PNG size outside 1...65536 pixels per side or above 67 megapixels");
        return -1;
    }
    size_t bytes = PNG_IMAGE_SIZE(png);
    unsigned char *pixels = malloc(bytes);
    if (!pixels) {
        png_image_free(&png);
        set_error(error, error_size, "%s", "out of memory");
        return -1;
    }
    png_color black = {0, 0, 0};
    if (!png_image_finish_read(&png, &black, pixels, 0, NULL)) {
        free(pixels);
        set_error(error, error_size, "corrupt PNG: %s", png.message);
        png_image_free(&png);
        return -1;
    }
    image->width = (int)png.width;
    image->height = (int)png.height;
    image->pixels = pixels;
    png_image_free(&png);
    return 0;
}

struct jpeg_failure {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void jpeg_fail(j_common_ptr info) {
    struct jpeg_failure *failure = (struct jpeg_failure *)info->err;
    (*info->err->format_message)(info, failure->message);
    longjmp(failure->jump, 1);
}

static void jpeg_silence(j_common_ptr info, int level) { (void)info, (void)level; }

static int decode_jpeg(const char *path, ic_image *image, char *error, size_t error_size) {
    FILE *file = fopen(path, "rb");
    if (!file) {
        set_error(error, error_size, "%s", "cannot open the file");
        return -1;
    }
    struct jpeg_decompress_struct info;
    struct jpeg_failure failure;
    unsigned char *volatile pixels = NULL;
    info.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = jpeg_fail;
    failure.manager.emit_message = jpeg_silence;
    if (setjmp(failure.jump)) {
        set_error(error, error_size, "corrupt JPEG: %s", failure.message);
        jpeg_destroy_decompress(&info);
        fclose(file);
        free(pixels);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_stdio_src(&info, file);
    jpeg_read_header(&info, TRUE);
    if ((size_t)info.image_width * info.image_height > IC_MAX_PIXELS) {
        strcpy(failure.message, "JPEG above 67 megapixels");
        longjmp(failure.jump, 1);
    }
    if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
        strcpy(failure.message, "CMYK JPEGs are not supported");
        longjmp(failure.jump, 1);
    }
    info.out_color_space = JCS_RGB;
    jpeg_start_decompress(&info);
    if (info.output_width == 0 || info.output_height == 0 || info.output_width > 65536 || info.output_height > 65536 ||
        (size_t)info.output_width * info.output_height > IC_MAX_PIXELS || info.output_components != 3) {
        strcpy(failure.message, "JPEG size outside 1...65536 pixels per side or above 67 megapixels");
        longjmp(failure.jump, 1);
    }
    size_t stride = (size_t)info.output_width * 3;
    pixels = malloc(stride * info.output_height);
    if (!pixels) {
        strcpy(failure.message, "out of memory");
        longjmp(failure.jump, 1);
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = pixels + stride * info.output_scanline;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    image->width = (int)info.output_width;
    image->height = (int)info.output_height;
    image->pixels = pixels;
    jpeg_destroy_decompress(&info);
    fclose(file);
    return 0;
}

int ic_decode_file(const char *path, ic_image *image, char *error, size_t error_size) {
    unsigned char magic[8] = {0};
    FILE *file = fopen(path, "rb");
    if (!file) {
        set_error(error, error_size, "%s", "cannot open the file");
        return -1;
    }
    size_t read = fread(magic, 1, sizeof magic, file);
    fclose(file);
    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (read == 8 && memcmp(magic, png_magic, 8) == 0) return decode_png(path, image, error, error_size);
    if (read >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF) return decode_jpeg(path, image, error, error_size);
    set_error(error, error_size, "%s", "neither a PNG nor a JPEG file (by its first bytes)");
    return -1;
}

int ic_write_png(const char *path, const unsigned char *pixels, int width, int height, char *error, size_t error_size) {
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = (png_uint_32)width;
    png.height = (png_uint_32)height;
    png.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&png, path, 0, pixels, 0, NULL)) {
        set_error(error, error_size, "cannot write the PNG: %s", png.message);
        png_image_free(&png);
        return -1;
    }
    png_image_free(&png);
    return 0;
}

int ic_write_jpeg(
    const char *path, const unsigned char *pixels, int width, int height, int quality, char *error, size_t error_size) {
    FILE *file = fopen(path, "wb");
    if (!file) {
        set_error(error, error_size, "%s", "cannot create the file");
        return -1;
    }
    struct jpeg_compress_struct info;
    struct jpeg_failure failure;
    info.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = jpeg_fail;
    failure.manager.emit_message = jpeg_silence;
    if (setjmp(failure.jump)) {
        set_error(error, error_size, "cannot write the JPEG: %s", failure.message);
        jpeg_destroy_compress(&info);
        fclose(file);
        return -1;
    }
    jpeg_create_compress(&info);
    jpeg_stdio_dest(&info, file);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = 3;
    info.in_color_space = JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    size_t stride = (size_t)width * 3;
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + stride * info.next_scanline);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    if (fclose(file) != 0) {
        set_error(error, error_size, "%s", "cannot finish writing the file");
        return -1;
    }
    return 0;
}

void ic_image_free(ic_image *image) {
    if (!image) return;
    free(image->pixels);
    image->pixels = NULL;
}
