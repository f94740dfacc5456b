/* Functional tests: exit 0 when every case passes. */
#include <stdio.h>
#include <string.h>

#include "vars.h"

static int failures;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                      \
        }                                                                    \
    } while (0)

static int parses(struct vars *v, const char *text)
{
    return vars_parse(v, text, strlen(text)) == 0;
}

static int value_is(const struct vars *v, const char *name, const char *expected)
{
    size_t n;
    const char *value = vars_get(v, name, &n);
    return value && n == strlen(expected) && memcmp(value, expected, n) == 0;
}

int main(void)
{
    struct vars v;

    CHECK(parses(&v, "HOST=example.org\n# a comment\n\nPORT=8080\n"));
    CHECK(value_is(&v, "HOST", "example.org") && value_is(&v, "PORT", "8080"));
    CHECK(vars_get(&v, "USER", &(size_t){0}) == NULL);
    vars_free(&v);

    CHECK(parses(&v, "A=hello\nB=$A world\nC=[$B]"));
    CHECK(value_is(&v, "B", "hello world") && value_is(&v, "C", "[hello world]"));
    vars_free(&v);

    CHECK(!parses(&v, "B=$UNDEFINED\n"));
    vars_free(&v);
    CHECK(!parses(&v, "no equals sign\n"));
    vars_free(&v);
    CHECK(!parses(&v, "=value\n"));
    vars_free(&v);

    if (failures)
        return 1;
    puts("all vars tests passed");
    return 0;
}
