/* A reader for a stream of masked frames. Each frame is a header and a payload:
 *
 *   total length (2 bytes, big-endian: the whole frame, header included)
 *   header length (1 byte, at least FRAME_HEADER: the header, options included)
 *   mask (1 byte)
 *   options (header length - FRAME_HEADER bytes, skipped)
 *   payload (total length - header length bytes, each XORed with the mask)
 */
#ifndef FRAME_H
#define FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER 4

struct frame_summary {
    size_t frames;        /* how many frames the stream holds */
    size_t payload_bytes; /* their payloads' total size */
    uint32_t checksum;    /* a rolling checksum over every unmasked payload byte */
};

/* Returns 0 and fills *out, or -1 if the stream is malformed. */
int frame_scan(const uint8_t *data, size_t size, struct frame_summary *out);

#endif
