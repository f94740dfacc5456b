/* Tries to reach a TCP port on the host's loopback; prints what happened. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        printf("socket failed: %s\n", strerror(errno));
        return 0;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
        printf("CONNECTED\n");
        return 1;
    }
    printf("connect failed: %s\n", strerror(errno));
    return 0;
}
