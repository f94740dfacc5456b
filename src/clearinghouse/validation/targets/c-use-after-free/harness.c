/* Harness: reads one input file into a heap buffer and expands its variables. */
#include <stdio.h>
#include <stdlib.h>

#include "vars.h"

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
    struct vars vars;

    if (argc != 2) {
        fprintf(stderr, "usage: %s INPUT\n", argv[0]);
        return 2;
    }
    unsigned char *data = read_file(argv[1], &size);
    if (!data) {
        perror(argv[1]);
        return 2;
    }
    if (vars_parse(&vars, (const char *)data, size) == 0) {
        for (size_t i = 0; i < vars.count; i++)
            printf("%s=%.*s\n", vars.items[i].name, (int)vars.items[i].length,
                   vars.arena + vars.items[i].offset);
    } else {
        printf("rejected: malformed input\n");
    }
    vars_free(&vars);
    free(data);
    return 0;
}
