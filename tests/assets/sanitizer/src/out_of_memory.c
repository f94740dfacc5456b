/* Allocates a size taken from untrusted input: Out-of-memory (ASan allocation-size-too-big).
 * Needs ASAN_OPTIONS=allocator_may_return_null=0 (the default). */
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

NOINLINE char *allocate_image(size_t width, size_t height) { return malloc(width * height); }

NOINLINE int decode_image(size_t width, size_t height) {
    char *pixels = allocate_image(width, height);
    int first = pixels != NULL;
    free(pixels);
    return first;
}

int main(int argc, char **argv) {
    (void)argv;
    printf("decoded: %d\n", decode_image((size_t)1 << 32, (size_t)1 << (10 + argc)));
    return 0;
}
