/* Adds past INT_MAX: UBSan signed-integer-overflow (Integer-overflow). */
#include <limits.h>
#include <stdio.h>

#define NOINLINE __attribute__((noinline))

NOINLINE int add_lengths(int a, int b) { return a + b; }

NOINLINE int total_length(int header, int body) { return add_lengths(header, body); }

int main(int argc, char **argv) {
    (void)argv;
    printf("total: %d\n", total_length(INT_MAX, argc)); /* INT_MAX + 1 */
    return 0;
}
