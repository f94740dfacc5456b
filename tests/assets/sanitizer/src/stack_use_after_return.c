/* Uses a pointer to a returned function's local: Stack-use-after-return READ 4.
 * Needs ASAN_OPTIONS=detect_stack_use_after_return=1. */
#include <stdio.h>

#define NOINLINE __attribute__((noinline))

/* a volatile global launders the address so gcc cannot replace the escape with NULL */
int *volatile escaped;

NOINLINE int *make_counter(int start) {
    int counter = start;
    escaped = &counter; /* escapes the frame */
    return escaped;
}

NOINLINE int read_counter(int *counter) { return *counter; }

int main(int argc, char **argv) {
    (void)argv;
    int *counter = make_counter(argc);
    printf("counter: %d\n", read_counter(counter));
    return 0;
}
