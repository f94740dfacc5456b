/* Reads a field of a freed session: Heap-use-after-free READ 4. */
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

struct session {
    int id;
    int refs;
};

NOINLINE struct session *open_session(int id) {
    struct session *s = malloc(sizeof *s);
    s->id = id;
    s->refs = 1;
    return s;
}

NOINLINE void close_session(struct session *s) { free(s); }

NOINLINE int session_id(const struct session *s) { return s->id; }

int main(int argc, char **argv) {
    (void)argv;
    struct session *s = open_session(argc);
    close_session(s);
    printf("id: %d\n", session_id(s)); /* dangling */
    return 0;
}
