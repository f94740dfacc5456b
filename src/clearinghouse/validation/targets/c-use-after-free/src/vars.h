/* A variables file: NAME=VALUE lines; "$NAME" in a value expands a variable defined above it. */
#ifndef VARS_H
#define VARS_H

#include <stddef.h>

#define VARS_MAX 32

struct var {
    char name[16];
    size_t offset; /* of the expanded value in the arena */
    size_t length;
};

struct vars {
    char *arena; /* every expanded value, back to back */
    size_t len, cap;
    struct var items[VARS_MAX];
    size_t count;
};

/* Returns 0, or -1 if the text is malformed; call vars_free() either way. */
int vars_parse(struct vars *v, const char *text, size_t size);
/* The expanded value of NAME (not NUL-terminated), or NULL if it is not defined. */
const char *vars_get(const struct vars *v, const char *name, size_t *length);
void vars_free(struct vars *v);

#endif
