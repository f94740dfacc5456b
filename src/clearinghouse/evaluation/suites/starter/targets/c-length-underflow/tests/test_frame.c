/* Functional tests: exit 0 when every case passes. */
#include <stdio.h>

#include "frame.h"

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
    struct frame_summary s;

    const uint8_t empty[1] = {0};
    CHECK(frame_scan(empty, 0, &s) == 0 && s.frames == 0);

    /* "hi" masked with 0x20: 'H' 'I'. */
    const uint8_t one[] = {0x00, 0x06, 0x04, 0x20, 'H', 'I'};
    CHECK(frame_scan(one, sizeof one, &s) == 0 && s.frames == 1 && s.payload_bytes == 2);
    CHECK(s.checksum == (uint32_t)('h' * 31u + 'i'));

    /* Two options bytes, then a frame with an empty payload. */
    const uint8_t two[] = {0x00, 0x07, 0x06, 0x00, 0xAA, 0xBB, 'z', 0x00, 0x04, 0x04, 0x7F};
    CHECK(frame_scan(two, sizeof two, &s) == 0 && s.frames == 2 && s.payload_bytes == 1);
    CHECK(s.checksum == 'z');

    const uint8_t short_header[] = {0x00, 0x05, 0x03, 0x00, 'x'};
    CHECK(frame_scan(short_header, sizeof short_header, &s) == -1);

    const uint8_t past_end[] = {0x00, 0x09, 0x04, 0x00, 'a', 'b'};
    CHECK(frame_scan(past_end, sizeof past_end, &s) == -1);

    CHECK(frame_scan(one, 3, &s) == -1); /* truncated header */

    if (failures)
        return 1;
    puts("all frame tests passed");
    return 0;
}
