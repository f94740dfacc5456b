/* Harness: reads one input file into an exactly sized heap buffer and reads its DNS question. */
#include <stdio.h>
#include <stdlib.h>

#include "dns.h"

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
    struct dns_question q;

    if (argc != 2) {
        fprintf(stderr, "usage: %s INPUT\n", argv[0]);
        return 2;
    }
    unsigned char *data = read_file(argv[1], &size);
    if (!data) {
        perror(argv[1]);
        return 2;
    }
    if (dns_read_question(data, size, &q) == 0)
        printf("%s type=%u class=%u\n", q.name, q.type, q.klass);
    else
        printf("rejected: malformed query\n");
    free(data);
    return 0;
}
