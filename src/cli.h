/* cli.h -- the one option parser of every ipborg subcommand.
 *
 * Each command declares its options in a table (struct cli_option): long
 * name, whether it takes a value (and, for numbers, the allowed range), the
 * environment variable that stands in for it, the default and a help line.
 * cli_parse reads argv and the environment against that table; cli_help
 * prints `ipborg CMD --help` from it. Nothing else in ipborg reads argv or
 * those environment variables.
 *
 * Rules (docs/protocol.md §1, §2):
 *   - a flag wins over its environment variable, which wins over the default;
 *     an empty environment variable counts as unset;
 *   - `--opt value` and `--opt=value`; options and arguments in any order,
 *     `--` ends the options; no abbreviations, no short options but -h;
 *   - numbers are whole decimal numbers within the option's range (no sign
 *     but '-', no blanks, no wrap-around);
 *   - unknown commands or options, a missing or empty value, a value given to
 *     a flag, a bad number, too few or too many arguments: one line, exit 2.
 *
 * Every text that may repeat what the user typed (error lines, the start-up
 * line) passes through redact() (redact.h) and cli_scrub, so a database
 * password given on the command line or in the environment is never shown. */
#ifndef IPBORG_CLI_H
#define IPBORG_CLI_H

#include <stddef.h>
#include <stdio.h>

#define CLI_MAX_OPTIONS 32
#define CLI_MAX_ARGS 4
#define CLI_ERRLEN 512

enum cli_kind {
    CLI_FLAG,     /* no value: set or not */
    CLI_TEXT,     /* a non-empty string */
    CLI_NUMBER,   /* a whole number in [min, max] */
};

/* One option. name NULL: an environment variable without a flag (listed in
 * the help, read by cli_parse like any other). */
struct cli_option {
    const char *name;       /* long name without "--", or NULL */
    enum cli_kind kind;
    const char *arg;        /* what the value is called in the help: "URL", "N" */
    const char *env;        /* environment variable, or NULL */
    const char *def;        /* default value as text (numbers: parsed), or NULL */
    long long min, max;     /* CLI_NUMBER only */
    const char *help;       /* one line; the default and variable are appended */
};

struct cli_values;

/* One subcommand. opts has nopts entries (index = the command's own enum). */
struct cli_command {
    const char *name;                 /* "serve" */
    const char *usage;                /* after "usage: ipborg NAME ", e.g. "[options] HASHID|URL" */
    const char *about;                /* a paragraph for --help (may be NULL) */
    const char *summary;              /* one line for `ipborg --help` */
    const struct cli_option *opts;
    int nopts;
    int min_args, max_args;           /* positional arguments (max <= CLI_MAX_ARGS) */
    const char *args_hint;            /* named in "which X?" errors: "HASHID or URL" */
    int (*run)(const struct cli_values *v);   /* returns the exit status */
};

enum cli_source { CLI_UNSET = 0, CLI_DEFAULT, CLI_ENV, CLI_GIVEN };

/* What cli_parse found. Strings point into argv, the environment or the
 * table: the struct owns nothing. */
struct cli_values {
    const struct cli_command *cmd;
    const char *text[CLI_MAX_OPTIONS];      /* the value (flags: "1" when set), or NULL */
    long long num[CLI_MAX_OPTIONS];         /* CLI_NUMBER: the value; CLI_FLAG: 0 or 1 */
    enum cli_source from[CLI_MAX_OPTIONS];
    const char *args[CLI_MAX_ARGS];
    int nargs;
    int help;                               /* --help was given */
};

enum { CLI_OK = 0, CLI_HELP = 1, CLI_USAGE = 2 };

/* Parses argv[1..argc-1] (argv[0] is the command's name) against cmd.
 * Returns CLI_OK, CLI_HELP (--help or -h given, and everything before it was
 * valid: print cli_help, exit 0) or CLI_USAGE with one redacted line in err
 * (CLI_ERRLEN bytes), "ipborg CMD: ...", without a newline. */
int cli_parse(const struct cli_command *cmd, int argc, char **argv, struct cli_values *v,
              char *err);

/* Accessors by option index. */
const char *cli_text(const struct cli_values *v, int opt);
long long cli_num(const struct cli_values *v, int opt);
int cli_flag(const struct cli_values *v, int opt);

/* Writes `ipborg CMD --help` (usage line, about, options, environment). */
void cli_help(const struct cli_command *cmd, FILE *f);

/* Finds the command named name in cmds (n entries), or NULL. */
const struct cli_command *cli_find(const struct cli_command *cmds, int n, const char *name);

/* Runs `ipborg ARGS...` against the command table: the top-level help, the
 * unknown-command error, then cli_parse and cmd->run. Returns the exit
 * status. Usage errors go to stderr (one line), help to stdout. */
int cli_main(const struct cli_command *cmds, int n, int argc, char **argv);

/* --- keeping passwords out of messages ---------------------------------------- */

/* Remembers the passwords inside s (a database URL's user information, a
 * password=VALUE key) so that cli_scrub hides them wherever they show up
 * later, also in forms redact() cannot recognise (a backend's error text
 * quoting a bad %-escape: "invalid percent-encoded token: \"P%zzW\"").
 * cli_parse calls it for every argument and every environment value it
 * reads. At most 16 are remembered; the texts are copied. */
void cli_note_secrets(const char *s);
/* Forgets them all (tests). */
void cli_forget_secrets(void);

/* redact() (redact.h), then every remembered password (as given and
 * %-decoded) replaced by "***". Copies text into out (n >= 1 bytes, always
 * NUL-terminated). Returns out. */
char *cli_scrub(const char *text, char *out, size_t n);

/* A stream that writes to dest through cli_scrub, a line (or whatever was
 * flushed) at a time: what commands print about their work goes through it,
 * so no message of theirs can show a password. fclose() it (dest stays
 * open). NULL when out of memory. */
FILE *cli_scrubbing_stream(FILE *dest);

/* Prints one line "ipborg CMD: MESSAGE\n" on f through cli_scrub; line
 * breaks in MESSAGE become spaces and other control bytes \xHH (so do those
 * of cli_parse's error lines). */
void cli_fail(FILE *f, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
