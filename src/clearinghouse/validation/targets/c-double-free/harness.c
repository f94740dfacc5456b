/* Harness: reads one input file (a URL on its first line) and splits it. */
#include <stdio.h>
#include <string.h>

#include "url.h"

int main(int argc, char **argv)
{
    char line[4096];
    struct url u;

    if (argc != 2) {
        fprintf(stderr, "usage: %s INPUT\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    if (!fgets(line, sizeof line, f))
        line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';

    if (url_parse(line, &u) == 0) {
        printf("scheme=%s host=%s port=%d path=%s\n", u.scheme, u.host, u.port, u.path);
        url_free(&u);
    } else {
        printf("rejected: not a URL\n");
    }
    return 0;
}
