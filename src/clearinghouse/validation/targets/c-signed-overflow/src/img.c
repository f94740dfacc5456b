#include <string.h>

#include "img.h"

#define IMG_HEADER 13

static int32_t be32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

int img_inspect(const uint8_t *data, size_t size, struct img_info *info)
{
    if (size < IMG_HEADER || memcmp(data, "IMG1", 4) != 0)
        return -1;
    info->width = be32(data + 4);
    info->height = be32(data + 8);
    info->channels = data[12];
    if (info->width <= 0 || info->height <= 0 || info->channels < 1 || info->channels > 4)
        return -1;

    int stride = info->width * info->channels;
    int samples = stride * info->height;
    if ((size_t)samples != size - IMG_HEADER)
        return -1; /* pixels missing or trailing garbage */

    uint64_t sum = 0;
    for (int i = 0; i < samples; i++)
        sum += data[IMG_HEADER + i];
    info->mean = (unsigned)(sum / (uint64_t)samples);
    return 0;
}
