/* Functional tests: exit 0 when every case passes. */
#include <stdio.h>
#include <string.h>

#include "url.h"

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
    struct url u;

    CHECK(url_parse("https://example.org/a/b?c=d", &u) == 0);
    CHECK(strcmp(u.scheme, "https") == 0 && strcmp(u.host, "example.org") == 0);
    CHECK(u.port == 0 && strcmp(u.path, "/a/b?c=d") == 0);
    url_free(&u);

    CHECK(url_parse("http://localhost:8080", &u) == 0);
    CHECK(strcmp(u.host, "localhost") == 0 && u.port == 8080 && strcmp(u.path, "/") == 0);
    url_free(&u);

    CHECK(url_parse("example.org/a", &u) == -1);
    CHECK(url_parse("://example.org", &u) == -1);
    CHECK(url_parse("http:///path", &u) == -1);

    if (failures)
        return 1;
    puts("all url tests passed");
    return 0;
}
