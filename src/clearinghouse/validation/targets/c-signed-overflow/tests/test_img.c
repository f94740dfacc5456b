/* Functional tests: exit 0 when every case passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "img.h"

static int failures;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                      \
        }                                                                    \
    } while (0)

/* A header for width x height x channels followed by pixels all set to value. */
static uint8_t *image(int32_t width, int32_t height, int channels, uint8_t value, size_t *size)
{
    size_t pixels = (size_t)width * (size_t)height * (size_t)channels;
    uint8_t *p = malloc(13 + pixels);
    memcpy(p, "IMG1", 4);
    for (int i = 0; i < 4; i++) {
        p[4 + i] = (uint8_t)((uint32_t)width >> (24 - 8 * i));
        p[8 + i] = (uint8_t)((uint32_t)height >> (24 - 8 * i));
    }
    p[12] = (uint8_t)channels;
    memset(p + 13, value, pixels);
    *size = 13 + pixels;
    return p;
}

int main(void)
{
    struct img_info info;
    size_t size;
    uint8_t *p;

    p = image(2, 3, 1, 100, &size);
    CHECK(img_inspect(p, size, &info) == 0 && info.width == 2 && info.height == 3);
    CHECK(info.mean == 100);
    CHECK(img_inspect(p, size - 1, &info) == -1); /* a pixel missing */
    free(p);

    p = image(300, 2, 3, 7, &size); /* a wide RGB strip */
    CHECK(img_inspect(p, size, &info) == 0 && info.channels == 3 && info.mean == 7);
    free(p);

    p = image(1, 1, 5, 0, &size);
    CHECK(img_inspect(p, size, &info) == -1); /* five channels */
    free(p);

    const uint8_t negative[] = {'I', 'M', 'G', '1', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 1};
    CHECK(img_inspect(negative, sizeof negative, &info) == -1);

    if (failures)
        return 1;
    puts("all img tests passed");
    return 0;
}
