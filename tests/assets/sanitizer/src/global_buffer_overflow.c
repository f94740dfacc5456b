/* Reads one int past a global table through a pointer: Global-buffer-overflow READ 4.
 * The pointer hides the array bound from UBSan, so AddressSanitizer reports it. */
#include <stdio.h>

#define NOINLINE __attribute__((noinline))

int lookup_table[8] = {1, 2, 3, 5, 8, 13, 21, 34};

NOINLINE int table_entry(const int *table, int index) { return table[index]; }

NOINLINE int translate(int code) { return table_entry(lookup_table, code) * 2; }

int main(int argc, char **argv) {
    (void)argv;
    printf("translated: %d\n", translate(7 + argc)); /* index 8 of 8 */
    return 0;
}
