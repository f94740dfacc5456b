/* Reads a field through a NULL struct pointer at a small offset: ASan SEGV near address 0,
 * which is a NULL dereference (Null-dereference READ), not a security bug. */
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

#define NOINLINE __attribute__((noinline))

struct config {
    char name[64];
    int verbosity;
};

NOINLINE struct config *load_config(int present) {
    /* hides the NULL from UBSan's null check: the pointer is computed, not a literal */
    return (struct config *)(uintptr_t)(present ? 0x1000000 : 0);
}

NOINLINE int verbosity_of(struct config *cfg) {
    volatile int *field = (volatile int *)((uintptr_t)cfg + offsetof(struct config, verbosity));
    return *field;
}

int main(int argc, char **argv) {
    (void)argv;
    printf("verbosity: %d\n", verbosity_of(load_config(argc - 1)));
    return 0;
}
