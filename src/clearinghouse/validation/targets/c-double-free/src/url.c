#include <stdlib.h>
#include <string.h>

#include "url.h"

void url_free(struct url *u)
{
    free(u->scheme);
    free(u->host);
    free(u->path);
    memset(u, 0, sizeof *u);
}

int url_parse(const char *text, struct url *u)
{
    memset(u, 0, sizeof *u);
    const char *sep = strstr(text, "://");
    if (!sep || sep == text)
        return -1;
    u->scheme = strndup(text, sep - text);

    const char *host = sep + 3;
    size_t host_len = strcspn(host, ":/");
    if (host_len == 0)
        goto fail;
    u->host = strndup(host, host_len);

    const char *rest = host + host_len;
    if (*rest == ':') {
        char *end;
        long port = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || port < 1 || port > 65535) {
            free(u->host); /* the host is useless without a valid port */
            goto fail;
        }
        u->port = (int)port;
        rest = end;
    }
    if (*rest != '\0' && *rest != '/')
        goto fail;
    u->path = strdup(*rest ? rest : "/");
    return 0;

fail:
    url_free(u);
    return -1;
}
