#include <string.h>

#include "path.h"

int path_normalize(const char *in, char *out, size_t out_size)
{
    char buf[PATH_MAX_LEN];
    size_t len = 0;

    while (*in) {
        size_t n = strcspn(in, "/");
        if (n == 2 && in[0] == '.' && in[1] == '.') {
            char *end = buf + len;
            while (*--end != '/')
                ; /* back to the slash that starts the last component */
            len = (size_t)(end - buf);
        } else if (n > 0 && !(n == 1 && in[0] == '.')) {
            if (len + 1 + n >= sizeof buf)
                return -1;
            buf[len++] = '/';
            memcpy(buf + len, in, n);
            len += n;
        }
        in += n + (in[n] == '/');
    }
    if (len == 0)
        buf[len++] = '/';
    if (len >= out_size)
        return -1;
    memcpy(out, buf, len);
    out[len] = '\0';
    return (int)len;
}
