/* The program: reads one input file into an exactly sized heap buffer and parses it. */
#include <stdio.h>
#include <stdlib.h>

#include "tlv.h"

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long length = ftell(f);
    rewind(f);
    unsigned char *data = malloc(length > 0 ? (size_t)length : 1);
    *size = data ? fread(data, 1, (size_t)length, f) : 0;
    fclose(f);
    return data;
}

int main(int argc, char **argv)
{
    size_t size;
    struct tlv_message message;

    if (argc != 2) {
        fprintf(stderr, "usage: %s INPUT\n", argv[0]);
        return 2;
    }
    unsigned char *data = read_file(argv[1], &size);
    if (!data) {
        perror(argv[1]);
        return 2;
    }
    if (tlv_parse(data, size, &message) == 0) {
        printf("%zu records, %zu value bytes\n", message.count, message.value_bytes);
        tlv_free(&message);
    } else {
        printf("rejected: malformed input\n");
    }
    free(data);
    return 0;
}
