/* A reader for indexed-colour images: "PAL1", width (1 byte), height (1 byte), the number of
 * colours (1 byte, 1 to PAL_MAX_COLORS), the palette (red, green, blue: 3 bytes per colour),
 * then one palette index per pixel, row by row. */
#ifndef PAL_H
#define PAL_H

#include <stddef.h>
#include <stdint.h>

#define PAL_MAX_COLORS 16

struct pal_info {
    unsigned width;
    unsigned height;
    unsigned colors;
    unsigned mean_luma; /* the average brightness of the pixels, 0 to 255 */
};

/* Returns 0 and fills *info, or -1 if the image is malformed. */
int pal_read(const uint8_t *data, size_t size, struct pal_info *info);

#endif
