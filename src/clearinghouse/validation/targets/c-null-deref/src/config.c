#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

int config_parse(struct config *c, const char *text)
{
    c->count = 0;
    while (*text) {
        size_t n = strcspn(text, "\n");
        char line[128], key[32], value[64];

        snprintf(line, sizeof line, "%.*s", (int)n, text);
        text += n + (text[n] == '\n');
        if (line[strspn(line, " \t")] == '\0' || line[strspn(line, " \t")] == '#')
            continue;
        if (sscanf(line, " %31[^= \t] = %63[^\n]", key, value) != 2 || c->count == CONFIG_MAX)
            return -1;
        strcpy(c->keys[c->count], key);
        strcpy(c->values[c->count], value);
        c->count++;
    }
    return 0;
}

const char *config_get(const struct config *c, const char *key)
{
    for (size_t i = 0; i < c->count; i++)
        if (strcmp(c->keys[i], key) == 0)
            return c->values[i];
    return NULL;
}

int config_banner(const struct config *c, char *out, size_t out_size)
{
    const char *name = config_get(c, "name");
    const char *port = config_get(c, "port");
    size_t n = 0;

    /* The service name is shown with a capital letter. */
    for (const char *p = name; *p && n + 1 < out_size; p++)
        out[n++] = p == name ? (char)toupper((unsigned char)*p) : *p;
    snprintf(out + n, out_size - n, " on port %s", port ? port : "80");
    return 0;
}
