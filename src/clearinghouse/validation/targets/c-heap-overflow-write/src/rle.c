#include <stdlib.h>

#include "rle.h"

#define RLE_HEADER 4

uint8_t *rle_decode(const uint8_t *data, size_t size, size_t *out_size)
{
    if (size < RLE_HEADER || data[0] != 'R' || data[1] != 'L' || (size - RLE_HEADER) % 2 != 0)
        return NULL;

    size_t capacity = ((size_t)data[2] << 8) | data[3];
    uint8_t *out = malloc(capacity ? capacity : 1);
    size_t written = 0;

    if (!out)
        return NULL;
    for (size_t pos = RLE_HEADER; pos < size; pos += 2) {
        uint8_t count = data[pos];
        uint8_t value = data[pos + 1];

        for (uint8_t i = 0; i < count; i++)
            out[written++] = value;
    }
    if (written != capacity) {
        free(out); /* the header promised a different size */
        return NULL;
    }
    *out_size = written;
    return out;
}
