/* An 8-bit raster: "IMG1", width and height (4 bytes each, big-endian, signed),
 * channels (1 byte, 1-4), then width * height * channels pixel bytes. */
#ifndef IMG_H
#define IMG_H

#include <stddef.h>
#include <stdint.h>

struct img_info {
    int32_t width, height;
    int channels;
    unsigned mean; /* mean of every sample, 0-255 */
};

/* Returns 0 and fills *info, or -1 if the image is malformed or its pixels are missing. */
int img_inspect(const uint8_t *data, size_t size, struct img_info *info);

#endif
