/* Reads one int past the end of a heap array: Heap-buffer-overflow READ 4. */
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

NOINLINE int read_sample(const int *samples, int index) { return samples[index]; }

NOINLINE int sum_samples(const int *samples, int count) {
    int total = 0;
    for (int i = 0; i <= count; i++) /* off by one */
        total += read_sample(samples, i);
    return total;
}

int main(int argc, char **argv) {
    (void)argv;
    int count = 3 + argc; /* 4 with no arguments */
    int *samples = calloc((size_t)count, sizeof(int));
    printf("sum: %d\n", sum_samples(samples, count));
    free(samples);
    return 0;
}
