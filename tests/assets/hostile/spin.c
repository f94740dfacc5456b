/* An infinite loop that burns CPU and never exits. */
int main(void) {
    volatile unsigned long n = 0;
    for (;;) n++;
}
