/* Normalises a slash-separated path the way a file server does before looking it up: empty and
 * "." components are dropped, ".." removes the component before it, and the result is the
 * remaining components joined by "/" after a leading "/" ("/" when none remain). */
#ifndef PATH_H
#define PATH_H

#include <stddef.h>

#define PATH_MAX_LEN 128

/* Writes the normalised path to out (NUL-terminated) and returns its length, or returns -1
 * when it would not fit in PATH_MAX_LEN or out_size bytes. */
int path_normalize(const char *in, char *out, size_t out_size);

#endif
