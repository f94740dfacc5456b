/* Functional tests: exit 0 when every case passes. */
#include <stdio.h>

#include "tlv.h"

static int failures;

#define CHECK(cond)                                                  \
    do {                                                             \
        if (!(cond)) {                                               \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                              \
        }                                                            \
    } while (0)

int main(void)
{
    struct tlv_summary s;

    const uint8_t empty[1] = {0};
    CHECK(tlv_scan(empty, 0, &s) == 0 && s.records == 0);

    const uint8_t one[] = {0x01, 0x00, 0x02, 'h', 'i'};
    CHECK(tlv_scan(one, sizeof one, &s) == 0 && s.records == 1);
    CHECK(s.checksum == ((1u * 31u + 'h') * 31u + 'i'));

    const uint8_t two[] = {0x01, 0x00, 0x01, 'a', 0x02, 0x00, 0x00};
    CHECK(tlv_scan(two, sizeof two, &s) == 0 && s.records == 2);

    const uint8_t truncated_header[] = {0x01, 0x00};
    CHECK(tlv_scan(truncated_header, sizeof truncated_header, &s) == -1);

    if (failures)
        return 1;
    puts("all tlv tests passed");
    return 0;
}
