/* Harness: reads one input file into an exactly sized heap buffer and reads the image. */
#include <stdio.h>
#include <stdlib.h>

#include "pal.h"

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
    struct pal_info info;

    if (argc != 2) {
        fprintf(stderr, "usage: %s INPUT\n", argv[0]);
        return 2;
    }
    unsigned char *data = read_file(argv[1], &size);
    if (!data) {
        perror(argv[1]);
        return 2;
    }
    if (pal_read(data, size, &info) == 0)
        printf("%ux%u, %u colours, mean luma %u\n", info.width, info.height, info.colors,
               info.mean_luma);
    else
        printf("rejected: malformed image\n");
    free(data);
    return 0;
}
