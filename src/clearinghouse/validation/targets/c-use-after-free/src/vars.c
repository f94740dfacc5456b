#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "vars.h"

#define ARENA_INITIAL 64

/* Makes room for n more bytes; may move the arena. */
static int arena_reserve(struct vars *v, size_t n)
{
    size_t cap = v->cap;

    while (cap < v->len + n)
        cap *= 2;
    if (cap != v->cap) {
        char *grown = realloc(v->arena, cap);
        if (!grown)
            return -1;
        v->arena = grown;
        v->cap = cap;
    }
    return 0;
}

static int arena_append(struct vars *v, const char *bytes, size_t n)
{
    if (arena_reserve(v, n) != 0)
        return -1;
    memcpy(v->arena + v->len, bytes, n);
    v->len += n;
    return 0;
}

static const struct var *find(const struct vars *v, const char *name, size_t n)
{
    for (size_t i = 0; i < v->count; i++)
        if (strlen(v->items[i].name) == n && memcmp(v->items[i].name, name, n) == 0)
            return &v->items[i];
    return NULL;
}

/* Parses one NAME=VALUE line (without its newline). */
static int parse_line(struct vars *v, const char *line, size_t n)
{
    const char *end = line + n, *eq = memchr(line, '=', n);
    struct var *var = &v->items[v->count];

    if (!eq || eq == line || (size_t)(eq - line) >= sizeof var->name || v->count == VARS_MAX)
        return -1;
    memcpy(var->name, line, eq - line);
    var->name[eq - line] = '\0';
    var->offset = v->len;
    for (const char *p = eq + 1; p < end;) {
        const char *start = p;
        if (*p == '$') {
            for (start = ++p; p < end && (isalnum((unsigned char)*p) || *p == '_'); p++)
                ;
            const struct var *ref = find(v, start, p - start);
            if (!ref)
                return -1;
            if (arena_append(v, v->arena + ref->offset, ref->length) != 0)
                return -1;
        } else {
            while (p < end && *p != '$')
                p++;
            if (arena_append(v, start, p - start) != 0)
                return -1;
        }
    }
    var->length = v->len - var->offset;
    v->count++;
    return 0;
}

int vars_parse(struct vars *v, const char *text, size_t size)
{
    const char *end = text + size;

    memset(v, 0, sizeof *v);
    v->arena = malloc(ARENA_INITIAL);
    if (!v->arena)
        return -1;
    v->cap = ARENA_INITIAL;
    while (text < end) {
        const char *newline = memchr(text, '\n', end - text);
        size_t n = newline ? (size_t)(newline - text) : (size_t)(end - text);

        if (n > 0 && text[0] != '#' && parse_line(v, text, n) != 0)
            return -1;
        text += n + (newline != NULL);
    }
    return 0;
}

const char *vars_get(const struct vars *v, const char *name, size_t *length)
{
    const struct var *var = find(v, name, strlen(name));

    if (!var)
        return NULL;
    *length = var->length;
    return v->arena + var->offset;
}

void vars_free(struct vars *v)
{
    free(v->arena);
    v->arena = NULL;
}
