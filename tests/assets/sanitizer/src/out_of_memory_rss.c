/* Touches memory without bound: Out-of-memory (ASan hard_rss_limit_mb, how the sandbox caps). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

NOINLINE char *grow_cache(size_t chunk) {
    char *block = malloc(chunk);
    memset(block, 1, chunk);
    return block;
}

char *volatile sink;

int main(int argc, char **argv) {
    (void)argv;
    for (long i = 0;; i++) /* every block is kept: the cache never evicts */
        sink = grow_cache((size_t)(1u << 20) * (size_t)argc);
    return 0;
}
