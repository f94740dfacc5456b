#include <stdlib.h>

#include "tlv.h"

#define TLV_HEADER 3
#define RECORD_HEADER 2

int tlv_parse(const uint8_t *data, size_t size, struct tlv_message *out)
{
    out->count = 0;
    out->types = NULL;
    out->value_bytes = 0;
    if (size < TLV_HEADER || data[0] != 'T' || data[1] != 'V')
        return -1;

    size_t declared = data[2];
    uint8_t *types = malloc(declared ? declared : 1);
    size_t pos = TLV_HEADER;
    size_t records = 0;
    size_t value_bytes = 0;

    if (!types)
        return -1;
    while (pos < size) {
        if (size - pos < RECORD_HEADER)
            goto malformed; /* truncated record header */
        uint8_t type = data[pos];
        size_t length = data[pos + 1];

        if (length > size - pos - RECORD_HEADER)
            goto malformed; /* the value runs past the end of the input */
        if (records > declared)
            goto malformed; /* more records than the header declared */
        types[records++] = type;
        value_bytes += length;
        pos += RECORD_HEADER + length;
    }
    if (records != declared)
        goto malformed; /* fewer records than the header declared */
    out->count = records;
    out->types = types;
    out->value_bytes = value_bytes;
    return 0;

malformed:
    free(types);
    return -1;
}

void tlv_free(struct tlv_message *message)
{
    free(message->types);
    message->types = NULL;
    message->count = 0;
}
