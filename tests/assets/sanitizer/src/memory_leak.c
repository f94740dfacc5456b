/* Loses the only pointer to a buffer: Memory-leak (LeakSanitizer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

NOINLINE char *duplicate_token(const char *token) {
    size_t length = strlen(token) + 1;
    char *copy = malloc(length + 56);
    memcpy(copy, token, length);
    return copy;
}

NOINLINE size_t token_length(const char *token) {
    char *copy = duplicate_token(token); /* never freed */
    return strlen(copy);
}

/* Overwrites the stack the calls above used, so no stale copy of the pointer keeps the
 * buffer reachable for LeakSanitizer's conservative scan. */
NOINLINE void scrub_stack(void) {
    volatile char scratch[4096];
    for (size_t i = 0; i < sizeof scratch; i++)
        scratch[i] = 0;
}

int main(int argc, char **argv) {
    (void)argc;
    size_t length = token_length("clearinghouse");
    scrub_stack();
    printf("length: %zu\n", length);
    return 0;
}
