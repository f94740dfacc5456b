/* A URL splitter: scheme://host[:port][/path]. */
#ifndef URL_H
#define URL_H

struct url {
    char *scheme;
    char *host;
    int port; /* 0 when the URL names none */
    char *path;
};

/* Returns 0 and fills *u (release it with url_free), or -1 if the text is not a URL. */
int url_parse(const char *text, struct url *u);
void url_free(struct url *u);

#endif
