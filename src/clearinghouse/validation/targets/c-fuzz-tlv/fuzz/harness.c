/* libFuzzer harness: the same parser the program calls, on every input the fuzzer makes. */
#include <stddef.h>
#include <stdint.h>

#include "tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tlv_message message;

    if (tlv_parse(data, size, &message) == 0)
        tlv_free(&message);
    return 0;
}
