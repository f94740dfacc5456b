#include <stdlib.h>

#include "frame.h"

int frame_scan(const uint8_t *data, size_t size, struct frame_summary *out)
{
    size_t pos = 0;

    out->frames = 0;
    out->payload_bytes = 0;
    out->checksum = 0;
    while (pos < size) {
        if (size - pos < FRAME_HEADER)
            return -1; /* truncated header */
        size_t total = (size_t)data[pos] << 8 | data[pos + 1];
        size_t header = data[pos + 2];
        uint8_t mask = data[pos + 3];
        if (header < FRAME_HEADER || total > size - pos)
            return -1; /* a short header, or a frame that runs past the input */

        size_t length = total - header;
        uint8_t *payload = malloc(total ? total : 1); /* the payload is never longer */
        if (!payload)
            return -1;
        const uint8_t *masked = data + pos + header;
        for (size_t i = 0; i < length; i++)
            payload[i] = masked[i] ^ mask;
        for (size_t i = 0; i < length; i++)
            out->checksum = out->checksum * 31u + payload[i];
        free(payload);

        out->frames++;
        out->payload_bytes += length;
        pos += total;
    }
    return 0;
}
