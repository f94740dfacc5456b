/* A run-length decoder: "RL", the decoded size (2 bytes, big-endian), then (count, byte) pairs. */
#ifndef RLE_H
#define RLE_H

#include <stddef.h>
#include <stdint.h>

/* Returns a malloc'd buffer of *out_size decoded bytes, or NULL if the input is malformed. */
uint8_t *rle_decode(const uint8_t *data, size_t size, size_t *out_size);

#endif
