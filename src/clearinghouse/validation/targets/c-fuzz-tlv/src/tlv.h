/* A TLV message: "TV", the record count (1 byte), then that many records, each a type byte,
 * a length byte and that many value bytes. */
#ifndef TLV_H
#define TLV_H

#include <stddef.h>
#include <stdint.h>

struct tlv_message {
    size_t count;       /* records in the message */
    uint8_t *types;     /* count record types, in order (malloc'd) */
    size_t value_bytes; /* the records' value bytes, all together */
};

/* Returns 0 and fills *out (release it with tlv_free), or -1 if the input is malformed. */
int tlv_parse(const uint8_t *data, size_t size, struct tlv_message *out);

void tlv_free(struct tlv_message *message);

#endif
