/* Stores through a NULL pointer a lookup returned: Null-dereference WRITE (UBSan). */
#include <stdio.h>
#include <stddef.h>

#define NOINLINE __attribute__((noinline))

static int counters[2];

NOINLINE int *find_counter(int key) { return key < 2 ? &counters[key] : NULL; }

NOINLINE void reset_counter(int key) {
    int *counter = find_counter(key);
    *counter = 0; /* the NULL case is not handled */
}

int main(int argc, char **argv) {
    (void)argv;
    reset_counter(argc + 1);
    printf("reset\n");
    return 0;
}
