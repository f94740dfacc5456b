/* Indexes one past a global array UBSan can see the bounds of: Index-out-of-bounds (UBSan). */
#include <stdio.h>

#define NOINLINE __attribute__((noinline))

int lookup_table[8] = {1, 2, 3, 5, 8, 13, 21, 34};

NOINLINE int table_entry(int index) { return lookup_table[index]; }

NOINLINE int translate(int code) { return table_entry(code) * 2; }

int main(int argc, char **argv) {
    (void)argv;
    printf("translated: %d\n", translate(7 + argc)); /* index 8 of 8 */
    return 0;
}
