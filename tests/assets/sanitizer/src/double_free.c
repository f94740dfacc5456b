/* Frees a buffer twice on an error path: Heap-double-free. */
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

NOINLINE void release_buffer(char *buffer) { free(buffer); }

NOINLINE int handle_error(char *buffer) {
    release_buffer(buffer); /* the caller frees it too */
    return -1;
}

int main(int argc, char **argv) {
    (void)argv;
    char *buffer = malloc(32);
    int status = argc > 0 ? handle_error(buffer) : 0;
    release_buffer(buffer);
    printf("status: %d\n", status);
    return 0;
}
