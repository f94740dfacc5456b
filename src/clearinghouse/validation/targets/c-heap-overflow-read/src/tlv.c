#include "tlv.h"

#define TLV_HEADER 3

static uint32_t mix(uint32_t checksum, uint8_t byte)
{
    return checksum * 31u + byte;
}

int tlv_scan(const uint8_t *data, size_t size, struct tlv_summary *out)
{
    size_t pos = 0;

    out->records = 0;
    out->checksum = 0;
    while (pos < size) {
        if (size - pos < TLV_HEADER)
            return -1; /* truncated header */
        uint8_t type = data[pos];
        size_t length = ((size_t)data[pos + 1] << 8) | data[pos + 2];
        const uint8_t *value = data + pos + TLV_HEADER;

        out->checksum = mix(out->checksum, type);
        for (size_t i = 0; i < length; i++)
            out->checksum = mix(out->checksum, value[i]);
        out->records++;
        pos += TLV_HEADER + length;
    }
    return 0;
}
