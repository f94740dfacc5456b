/* Loads through a NULL pointer a lookup returned: Null-dereference READ (UBSan). */
#include <stdio.h>
#include <stddef.h>

#define NOINLINE __attribute__((noinline))

static int known_ports[2] = {80, 443};

NOINLINE int *find_port(int key) { return key < 2 ? &known_ports[key] : NULL; }

NOINLINE int port_value(int key) {
    int *port = find_port(key);
    return *port; /* the NULL case is not handled */
}

int main(int argc, char **argv) {
    (void)argv;
    printf("port: %d\n", port_value(argc + 1));
    return 0;
}
