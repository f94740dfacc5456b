/* A reader for type-length-value records: 1 byte type, 2 bytes big-endian length, value. */
#ifndef TLV_H
#define TLV_H

#include <stddef.h>
#include <stdint.h>

struct tlv_summary {
    size_t records;    /* how many records the input holds */
    uint32_t checksum; /* a rolling checksum over every type and value byte */
};

/* Returns 0 and fills *out, or -1 if the input is malformed. */
int tlv_scan(const uint8_t *data, size_t size, struct tlv_summary *out);

#endif
