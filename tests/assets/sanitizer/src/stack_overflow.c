/* Unbounded recursion on nested input: Stack-overflow. */
#include <stdio.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

NOINLINE int parse_nested(volatile char *depth_marker, int depth) {
    char frame[256];
    memset(frame, depth & 0x7f, sizeof frame);
    depth_marker[0] = frame[depth % 256];
    /* no depth limit: every '[' recurses */
    return parse_nested(depth_marker, depth + 1) + frame[depth % 128];
}

int main(int argc, char **argv) {
    (void)argv;
    char marker[1];
    printf("depth: %d\n", parse_nested(marker, argc));
    return 0;
}
