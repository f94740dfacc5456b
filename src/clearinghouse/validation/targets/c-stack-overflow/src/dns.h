/* Reads the question of a DNS query: a 12-byte header, then QNAME (length-prefixed labels,
 * no compression), QTYPE and QCLASS. */
#ifndef DNS_H
#define DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 255

struct dns_question {
    char name[DNS_NAME_MAX + 1]; /* lower-case, dotted */
    uint16_t type;
    uint16_t klass;
};

/* Returns 0 and fills *q, or -1 if the message is malformed. */
int dns_read_question(const uint8_t *msg, size_t size, struct dns_question *q);

#endif
