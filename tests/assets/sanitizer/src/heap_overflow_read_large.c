/* Copies 64 bytes out of a 16-byte heap buffer: Heap-buffer-overflow READ {*}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

NOINLINE void copy_header(char *out, const char *packet, size_t length) {
    memcpy(out, packet, length);
}

NOINLINE void parse_packet(const char *packet, size_t claimed_length) {
    char header[128];
    copy_header(header, packet, claimed_length); /* trusts the length field */
    printf("header byte: %d\n", header[0]);
}

int main(int argc, char **argv) {
    (void)argv;
    char *packet = calloc(16, 1);
    parse_packet(packet, (size_t)(63 + argc));
    free(packet);
    return 0;
}
