/* Functional tests: exit 0 when every case passes. */
#include <stdio.h>
#include <string.h>

#include "dns.h"

static int failures;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                      \
        }                                                                    \
    } while (0)

/* Builds a query for the dotted name; returns its size. */
static size_t query(uint8_t *out, const char *dotted)
{
    size_t pos = 12;
    memset(out, 0, 12);
    while (*dotted) {
        size_t n = strcspn(dotted, ".");
        out[pos++] = (uint8_t)n;
        memcpy(out + pos, dotted, n);
        pos += n;
        dotted += n + (dotted[n] == '.');
    }
    out[pos++] = 0;
    out[pos++] = 0, out[pos++] = 1; /* A */
    out[pos++] = 0, out[pos++] = 1; /* IN */
    return pos;
}

int main(void)
{
    uint8_t msg[512];
    struct dns_question q;
    const char *long_name = "a-rather-long-label-for-a-test-case.with-a-second-label-that-is-long"
                            ".example.org";

    CHECK(dns_read_question(msg, query(msg, "WWW.Example.ORG"), &q) == 0);
    CHECK(strcmp(q.name, "www.example.org") == 0 && q.type == 1 && q.klass == 1);

    CHECK(dns_read_question(msg, query(msg, long_name), &q) == 0);
    CHECK(strcmp(q.name, long_name) == 0);

    CHECK(dns_read_question(msg, query(msg, ""), &q) == 0 && q.name[0] == '\0');

    size_t n = query(msg, "example.org");
    CHECK(dns_read_question(msg, n - 2, &q) == -1); /* QCLASS cut off */
    CHECK(dns_read_question(msg, 11, &q) == -1);     /* short header */
    msg[12] = 0xC0;                                  /* a compression pointer */
    CHECK(dns_read_question(msg, n, &q) == -1);

    if (failures)
        return 1;
    puts("all dns tests passed");
    return 0;
}
