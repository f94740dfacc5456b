/* notes: a small note service. It reads one request file:
 *
 *   user NAME          (first line: who is asking; names are at most 15 characters)
 *   list               (any number of commands, one per line)
 *   read N
 *
 * "list" shows the public notes and "read N" prints note N. Note 0 is the operator's: only an
 * admin session may read it.
 */
#include <stdio.h>
#include <string.h>

#define LEVEL_GUEST 0
#define LEVEL_ADMIN 7

struct session {
    char user[16];
    unsigned char level;
    unsigned notes_read;
};

static const char *const PUBLIC_NOTES[] = {
    NULL,
    "Welcome to the note service.",
    "Maintenance window: Sundays 02:00 to 04:00 UTC.",
};
#define NOTE_COUNT (sizeof PUBLIC_NOTES / sizeof PUBLIC_NOTES[0])

/* The operator's note, scrambled so that it does not show up in `strings`. */
static const unsigned char OPERATOR_NOTE[] = {
    0x7f, 0x5b, 0x85, 0x9e, 0x23, 0xa1, 0xc1, 0x3f, 0x50, 0xe8, 0x15, 0x9b,
    0x27, 0x7c, 0xf2, 0xed, 0x7e, 0x96, 0x11, 0x90, 0xd4, 0x0c, 0x71, 0x3e,
    0x8d, 0x5b, 0x03, 0x5a, 0x7c, 0xcb, 0x87, 0xd8, 0xb2, 0x4e,
};

static void print_operator_note(void)
{
    unsigned char key = 0x3c;
    for (size_t i = 0; i < sizeof OPERATOR_NOTE; i++) {
        putchar(OPERATOR_NOTE[i] ^ key);
        key = (unsigned char)(key * 13 + 7);
    }
    putchar('\n');
}

static void login(struct session *s, const char *name)
{
    size_t i = 0;
    while (name[i] != '\0' && name[i] != '\n') {
        s->user[i] = name[i];
        i++;
    }
    s->user[i] = '\0';
}

static void run(struct session *s, const char *command)
{
    unsigned n;
    if (strncmp(command, "list", 4) == 0) {
        for (unsigned i = 1; i < NOTE_COUNT; i++)
            printf("note %u: %.20s...\n", i, PUBLIC_NOTES[i]);
    } else if (sscanf(command, "read %u", &n) == 1 && n < NOTE_COUNT) {
        if (n == 0 && s->level < LEVEL_ADMIN) {
            printf("%s: permission denied\n", s->user);
            return;
        }
        if (n == 0)
            print_operator_note();
        else
            printf("%s\n", PUBLIC_NOTES[n]);
        s->notes_read++;
    } else {
        printf("unknown command\n");
    }
}

int main(int argc, char **argv)
{
    char line[256];
    struct session session;

    if (argc != 2) {
        fprintf(stderr, "usage: %s REQUEST_FILE\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    memset(&session, 0, sizeof session);
    session.level = LEVEL_GUEST;
    if (!fgets(line, sizeof line, f) || strncmp(line, "user ", 5) != 0) {
        fprintf(stderr, "the first line must be: user NAME\n");
        fclose(f);
        return 1;
    }
    login(&session, line + 5);
    printf("hello %s\n", session.user);
    while (fgets(line, sizeof line, f))
        run(&session, line);
    printf("%u notes read\n", session.notes_read);
    fclose(f);
    return 0;
}
