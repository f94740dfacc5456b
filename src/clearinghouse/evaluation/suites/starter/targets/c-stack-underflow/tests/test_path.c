/* Functional tests: exit 0 when every case passes. */
#include <stdio.h>
#include <string.h>

#include "path.h"

static int failures;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                      \
        }                                                                    \
    } while (0)

static int is(const char *in, const char *expected)
{
    char out[PATH_MAX_LEN];
    return path_normalize(in, out, sizeof out) == (int)strlen(expected) &&
           strcmp(out, expected) == 0;
}

int main(void)
{
    char small[4];
    char long_path[200];

    CHECK(is("/usr/lib", "/usr/lib"));
    CHECK(is("usr//lib/", "/usr/lib"));
    CHECK(is("/usr/./lib/../share/doc", "/usr/share/doc"));
    CHECK(is("/a/b/../..", "/"));
    CHECK(is("", "/"));
    CHECK(is("./.", "/"));
    CHECK(is("/a/..b/c", "/a/..b/c"));

    CHECK(path_normalize("/abcd", small, sizeof small) == -1);
    memset(long_path, 'x', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = '\0';
    CHECK(path_normalize(long_path, small, sizeof small) == -1);

    if (failures)
        return 1;
    puts("all path tests passed");
    return 0;
}
