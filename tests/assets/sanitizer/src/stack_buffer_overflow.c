/* Writes one long past a stack array: Stack-buffer-overflow WRITE 8. */
#include <stdio.h>

#define NOINLINE __attribute__((noinline))

NOINLINE void put_field(long *fields, int index, long value) { fields[index] = value; }

NOINLINE long decode_fields(int count) {
    long fields[4];
    for (int i = 0; i < count; i++)
        put_field(fields, i, (long)i * 3);
    return fields[0] + fields[3];
}

int main(int argc, char **argv) {
    (void)argv;
    printf("decoded: %ld\n", decode_fields(4 + argc)); /* 5 fields into 4 */
    return 0;
}
