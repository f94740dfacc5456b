/* "read PATH" prints a file's first bytes; "write PATH" creates a file. Reports each attempt. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *path = argv[i + 1];
        if (strcmp(argv[i], "write") == 0) {
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0 || write(fd, "pwned\n", 6) != 6) {
                printf("write %s: %s\n", path, strerror(errno));
            } else {
                printf("write %s: WRITTEN\n", path);
            }
            if (fd >= 0) close(fd);
        } else {
            char buf[128] = {0};
            int fd = open(path, O_RDONLY);
            if (fd < 0 || read(fd, buf, sizeof buf - 1) < 0) {
                printf("read %s: %s\n", path, strerror(errno));
            } else {
                printf("read %s: READ %s\n", path, buf);
            }
            if (fd >= 0) close(fd);
        }
    }
    return 0;
}
