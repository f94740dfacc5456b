/* Leaves a daemon behind: the grandchild starts a new session, keeps stdout open and waits
   forever, while the program itself exits at once with status 0. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    pid_t child = fork();
    if (child == 0) {
        setsid();
        if (fork() == 0) {
            for (;;) pause();
        }
        _exit(0);
    }
    printf("parent done\n");
    return 0;
}
