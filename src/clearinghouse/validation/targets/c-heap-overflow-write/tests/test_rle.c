/* Functional tests: exit 0 when every case passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rle.h"

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
    size_t n = 0;
    uint8_t *out;

    const uint8_t runs[] = {'R', 'L', 0x00, 0x05, 3, 'a', 2, 'b'};
    out = rle_decode(runs, sizeof runs, &n);
    CHECK(out && n == 5 && memcmp(out, "aaabb", 5) == 0);
    free(out);

    const uint8_t empty[] = {'R', 'L', 0x00, 0x00};
    out = rle_decode(empty, sizeof empty, &n);
    CHECK(out && n == 0);
    free(out);

    const uint8_t short_runs[] = {'R', 'L', 0x00, 0x09, 3, 'a'};
    CHECK(rle_decode(short_runs, sizeof short_runs, &n) == NULL);

    const uint8_t bad_magic[] = {'X', 'L', 0x00, 0x01, 1, 'a'};
    CHECK(rle_decode(bad_magic, sizeof bad_magic, &n) == NULL);

    const uint8_t odd[] = {'R', 'L', 0x00, 0x01, 1};
    CHECK(rle_decode(odd, sizeof odd, &n) == NULL);

    if (failures)
        return 1;
    puts("all rle tests passed");
    return 0;
}
