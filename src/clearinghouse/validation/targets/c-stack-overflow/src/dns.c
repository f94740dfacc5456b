#include <string.h>

#include "dns.h"

#define DNS_HEADER 12
#define DNS_LABEL_MAX 63

int dns_read_question(const uint8_t *msg, size_t size, struct dns_question *q)
{
    char name[DNS_NAME_MAX + 1];
    char *out = name;
    size_t pos = DNS_HEADER;

    if (size < DNS_HEADER)
        return -1;
    while (pos < size && msg[pos] != 0) {
        size_t label = msg[pos++];
        if (label > DNS_LABEL_MAX || label > size - pos)
            return -1; /* compression pointers and truncated labels are refused */
        if (out > name)
            *out++ = '.';
        for (size_t i = 0; i < label; i++) {
            uint8_t c = msg[pos++];
            *out++ = (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : (char)c;
        }
    }
    if (size - pos < 5)
        return -1; /* the terminating zero, QTYPE and QCLASS */
    *out = '\0';
    pos++;
    memcpy(q->name, name, (size_t)(out - name) + 1);
    q->type = (uint16_t)(msg[pos] << 8 | msg[pos + 1]);
    q->klass = (uint16_t)(msg[pos + 2] << 8 | msg[pos + 3]);
    return 0;
}
