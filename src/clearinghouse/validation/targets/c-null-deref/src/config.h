/* A service configuration: "key = value" lines, '#' comments. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

#define CONFIG_MAX 16

struct config {
    char keys[CONFIG_MAX][32];
    char values[CONFIG_MAX][64];
    size_t count;
};

/* Returns 0, or -1 if a line is not "key = value" or there are too many. */
int config_parse(struct config *c, const char *text);
/* The value of key, or NULL if the configuration does not set it. */
const char *config_get(const struct config *c, const char *key);
/* Writes "Name on port N" (the port defaults to 80); returns 0, or -1 if it cannot. */
int config_banner(const struct config *c, char *out, size_t out_size);

#endif
