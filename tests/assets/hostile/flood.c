/* Writes 8 GiB to the descriptor named by argv[1] (1 or 2), 1 MiB at a time. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fd = argc > 1 ? atoi(argv[1]) : 1;
    static char buf[1 << 20];
    memset(buf, 'A', sizeof buf);
    for (int i = 0; i < 8192; i++) {
        if (write(fd, buf, sizeof buf) < 0) return 3;
    }
    return 0;
}
