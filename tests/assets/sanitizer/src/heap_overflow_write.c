/* Writes one int past the end of a heap array: Heap-buffer-overflow WRITE 4. */
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

NOINLINE void store_sample(int *samples, int index, int value) { samples[index] = value; }

NOINLINE void fill_samples(int *samples, int count) {
    for (int i = 0; i <= count; i++) /* off by one */
        store_sample(samples, i, i * 7);
}

int main(int argc, char **argv) {
    (void)argv;
    int count = 3 + argc;
    int *samples = malloc((size_t)count * sizeof(int));
    fill_samples(samples, count);
    printf("first: %d\n", samples[0]);
    free(samples);
    return 0;
}
