/* Harness: reads one configuration file and prints the service banner it describes. */
#include <stdio.h>

#include "config.h"

int main(int argc, char **argv)
{
    char text[4096], banner[128];
    struct config c;

    if (argc != 2) {
        fprintf(stderr, "usage: %s INPUT\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);

    if (config_parse(&c, text) == 0 && config_banner(&c, banner, sizeof banner) == 0)
        printf("%s\n", banner);
    else
        printf("rejected: bad configuration\n");
    return 0;
}
