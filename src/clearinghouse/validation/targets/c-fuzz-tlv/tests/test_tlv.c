/* Functional tests: exit 0 when every case passes. */
#include <stdio.h>

#include "tlv.h"

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
    struct tlv_message m;

    const uint8_t two[] = {'T', 'V', 2, 0x01, 3, 'a', 'b', 'c', 0x02, 1, 'z'};
    CHECK(tlv_parse(two, sizeof two, &m) == 0 && m.count == 2 && m.value_bytes == 4);
    CHECK(m.types && m.types[0] == 0x01 && m.types[1] == 0x02);
    tlv_free(&m);

    const uint8_t one_empty[] = {'T', 'V', 1, 0x07, 0};
    CHECK(tlv_parse(one_empty, sizeof one_empty, &m) == 0 && m.count == 1 && m.value_bytes == 0);
    tlv_free(&m);

    const uint8_t none[] = {'T', 'V', 0};
    CHECK(tlv_parse(none, sizeof none, &m) == 0 && m.count == 0);
    tlv_free(&m);

    const uint8_t too_few[] = {'T', 'V', 3, 0x01, 0, 0x02, 0};
    CHECK(tlv_parse(too_few, sizeof too_few, &m) == -1);

    const uint8_t long_value[] = {'T', 'V', 1, 0x01, 9, 'a'};
    CHECK(tlv_parse(long_value, sizeof long_value, &m) == -1);

    const uint8_t truncated[] = {'T', 'V', 1, 0x01};
    CHECK(tlv_parse(truncated, sizeof truncated, &m) == -1);

    const uint8_t bad_magic[] = {'T', 'X', 0};
    CHECK(tlv_parse(bad_magic, sizeof bad_magic, &m) == -1);

    if (failures)
        return 1;
    puts("all tlv tests passed");
    return 0;
}
