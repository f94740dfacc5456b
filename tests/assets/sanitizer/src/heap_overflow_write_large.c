/* Copies 64 bytes into a 16-byte heap buffer: Heap-buffer-overflow WRITE {*}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

NOINLINE void copy_name(char *dest, const char *src, size_t length) { memcpy(dest, src, length); }

NOINLINE char *store_name(const char *name, size_t length) {
    char *record = malloc(16);
    copy_name(record, name, length); /* no check against the record size */
    return record;
}

int main(int argc, char **argv) {
    (void)argv;
    char name[128];
    memset(name, 'A', sizeof name);
    char *record = store_name(name, (size_t)(63 + argc));
    printf("stored: %c\n", record[0]);
    free(record);
    return 0;
}
