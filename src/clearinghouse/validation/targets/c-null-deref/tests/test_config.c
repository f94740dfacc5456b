/* Functional tests: exit 0 when every case passes. */
#include <stdio.h>
#include <string.h>

#include "config.h"

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
    struct config c;
    char banner[64];

    CHECK(config_parse(&c, "# web front end\nname = frontend\nport = 8080\n") == 0);
    CHECK(c.count == 2 && strcmp(config_get(&c, "port"), "8080") == 0);
    CHECK(config_get(&c, "user") == NULL);
    CHECK(config_banner(&c, banner, sizeof banner) == 0);
    CHECK(strcmp(banner, "Frontend on port 8080") == 0);

    CHECK(config_parse(&c, "name=api\n\n") == 0);
    CHECK(config_banner(&c, banner, sizeof banner) == 0);
    CHECK(strcmp(banner, "Api on port 80") == 0); /* the port is optional */

    CHECK(config_parse(&c, "name frontend\n") == -1);

    if (failures)
        return 1;
    puts("all config tests passed");
    return 0;
}
