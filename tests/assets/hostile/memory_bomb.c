/* Allocates and touches 16 MiB blocks until allocation fails (or a sanitizer stops it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    const size_t block = 16u << 20;
    for (size_t mib = 0; mib < (64u << 10); mib += 16) {
        char *p = malloc(block);
        if (p == NULL) {
            printf("allocation failed after %zu MiB\n", mib);
            return 2;
        }
        memset(p, 0xA5, block);
        usleep(2000); /* lets ASan's RSS watcher (checks every ~100 ms) see the growth */
    }
    printf("ALLOCATED 64 GiB\n");
    return 0;
}
