/* Functional tests: exit 0 when every case passes. */
#include <stdio.h>
#include <string.h>

#include "pal.h"

static int failures;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                      \
        }                                                                    \
    } while (0)

int main(void)
{
    struct pal_info info;

    /* 2x2, black and white, one white pixel: mean luma 255 / 4. */
    const uint8_t two[] = {'P', 'A', 'L', '1', 2, 2, 2, 0, 0, 0, 255, 255, 255, 0, 0, 1, 0};
    CHECK(pal_read(two, sizeof two, &info) == 0);
    CHECK(info.width == 2 && info.height == 2 && info.colors == 2 && info.mean_luma == 63);

    /* 1x3 using the last of three colours everywhere: pure green. */
    const uint8_t three[] = {'P', 'A', 'L', '1', 1, 3, 3, 9, 9, 9, 1, 1, 1, 0, 255, 0, 2, 2, 2};
    CHECK(pal_read(three, sizeof three, &info) == 0 && info.mean_luma == 149);

    const uint8_t magic[] = {'P', 'A', 'L', '2', 1, 1, 1, 0, 0, 0, 0};
    CHECK(pal_read(magic, sizeof magic, &info) == -1);

    const uint8_t no_colors[] = {'P', 'A', 'L', '1', 1, 1, 0, 0};
    CHECK(pal_read(no_colors, sizeof no_colors, &info) == -1);

    uint8_t many[7 + 17 * 3 + 1] = {'P', 'A', 'L', '1', 1, 1, 17};
    CHECK(pal_read(many, sizeof many, &info) == -1);

    CHECK(pal_read(two, sizeof two - 1, &info) == -1); /* a pixel missing */
    CHECK(pal_read(two, 5, &info) == -1);              /* a short header */

    if (failures)
        return 1;
    puts("all palette tests passed");
    return 0;
}
