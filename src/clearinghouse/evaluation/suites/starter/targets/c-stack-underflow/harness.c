/* Harness: reads the first line of one input file and prints the path it normalises to. */
#include <stdio.h>
#include <string.h>

#include "path.h"

int main(int argc, char **argv)
{
    char line[4096];
    char normal[PATH_MAX_LEN];

    if (argc != 2) {
        fprintf(stderr, "usage: %s INPUT\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (path_normalize(line, normal, sizeof normal) >= 0)
        printf("%s\n", normal);
    else
        printf("rejected: path too long\n");
    return 0;
}
