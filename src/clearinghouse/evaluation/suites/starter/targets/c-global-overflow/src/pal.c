#include <string.h>

#include "pal.h"

#define PAL_HEADER 7

struct rgb {
    uint8_t r, g, b;
};

/* The palette of the image being read (readers never run concurrently). */
static struct rgb palette[PAL_MAX_COLORS];

static unsigned luma(const struct rgb *c)
{
    return (299u * c->r + 587u * c->g + 114u * c->b) / 1000u;
}

int pal_read(const uint8_t *data, size_t size, struct pal_info *info)
{
    if (size < PAL_HEADER || memcmp(data, "PAL1", 4) != 0)
        return -1;
    info->width = data[4];
    info->height = data[5];
    info->colors = data[6];
    if (info->width == 0 || info->height == 0 || info->colors == 0 ||
        info->colors > PAL_MAX_COLORS)
        return -1;

    size_t pixels = (size_t)info->width * info->height;
    if (size - PAL_HEADER != 3 * (size_t)info->colors + pixels)
        return -1; /* palette or pixels missing, or trailing garbage */

    const uint8_t *p = data + PAL_HEADER;
    for (unsigned i = 0; i < info->colors; i++, p += 3) {
        palette[i].r = p[0];
        palette[i].g = p[1];
        palette[i].b = p[2];
    }

    unsigned long sum = 0;
    for (size_t i = 0; i < pixels; i++)
        sum += luma(palette + p[i]);
    info->mean_luma = (unsigned)(sum / pixels);
    return 0;
}
