/* Harness: reads one input file into an exactly sized heap buffer and scans its frames. */
#include <stdio.h>
#include <stdlib.h>

#include "frame.h"

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
    struct frame_summary summary;

    if (argc != 2) {
        fprintf(stderr, "usage: %s INPUT\n", argv[0]);
        return 2;
    }
    unsigned char *data = read_file(argv[1], &size);
    if (!data) {
        perror(argv[1]);
        return 2;
    }
    if (frame_scan(data, size, &summary) == 0)
        printf("%zu frames, %zu payload bytes, checksum %08x\n", summary.frames,
               summary.payload_bytes, (unsigned)summary.checksum);
    else
        printf("rejected: malformed stream\n");
    free(data);
    return 0;
}
