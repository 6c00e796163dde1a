/* cli.c -- the one option parser, the help generated from the option
 * tables, and the scrubbing of passwords out of messages (cli.h).
 *
 * Parsing is a single pass over argv: "--name", "--name=value" or
 * "--name value" are looked up by exact name in the command's table, anything
 * else is a positional argument (until "--", after which everything is).
 * Values are only recorded during the pass; environment variables and
 * defaults fill what no flag gave afterwards, so an environment variable is
 * never even read (or checked) when its flag is given.
 *
 * Passwords: besides redact(), which recognises passwords by their shape in
 * any text, cli_note_secrets remembers the password parts of every argument
 * and environment value the parser sees, and cli_scrub hides those exact
 * strings wherever they appear. A backend's error text may quote part of a
 * URL without the shape redact() knows (libpq: invalid percent-encoded
 * token: "P%zzW"); the value itself is still recognised. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redact.h"

/* --- secrets -------------------------------------------------------------------- */

#define MAX_SECRETS 16

static char *secrets[MAX_SECRETS];
static int nsecrets;

static void remember(const char *s, size_t len)
{
    if (len == 0 || nsecrets == MAX_SECRETS)
        return;
    for (int i = 0; i < nsecrets; i++)
        if (strlen(secrets[i]) == len && !memcmp(secrets[i], s, len))
            return;
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, s, len);
    copy[len] = '\0';
    secrets[nsecrets++] = copy;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Remembers s[0..len) and, when it holds valid %-escapes, its decoded form. */
static void remember_both(const char *s, size_t len)
{
    remember(s, len);
    char *dec = malloc(len + 1);
    if (!dec)
        return;
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            dec[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            dec[j++] = s[i];
        }
    }
    if (j != len)
        remember(dec, j);
    free(dec);
}

static int url_end(char c)
{
    return c == '\0' || isspace((unsigned char)c) || c == '"' || c == '\'' || c == '`' ||
           c == '>' || c == ')';
}

void cli_note_secrets(const char *s)
{
    if (!s)
        return;
    for (const char *p = s; *p; p++) {
        if (!strncmp(p, "://", 3)) {
            /* USER:PASSWORD@ up to the last '@' before the query, as redact() reads it. */
            const char *u = p + 3, *at = NULL, *e = u;
            for (; !url_end(*e) && *e != '?'; e++)
                if (*e == '@')
                    at = e;
            if (at) {
                const char *colon = memchr(u, ':', (size_t)(at - u));
                if (colon)
                    remember_both(colon + 1, (size_t)(at - colon - 1));
            }
        } else if (!strncasecmp(p, "password", 8)) {
            const char *v = p + 8;
            while (*v == ' ' || *v == '\t')
                v++;
            if (*v != '=')
                continue;
            v++;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t n = 0;
            if (*v == '\'' || *v == '"') {
                char q = *v++;
                while (v[n] && v[n] != q)
                    n++;
            } else {
                while (v[n] && v[n] != '&' && !isspace((unsigned char)v[n]))
                    n++;
            }
            remember_both(v, n);
        }
    }
}

void cli_forget_secrets(void)
{
    for (int i = 0; i < nsecrets; i++)
        free(secrets[i]);
    nsecrets = 0;
}

char *cli_scrub(const char *text, char *out, size_t n)
{
    if (n == 0)
        return out;
    char *tmp = malloc(n);
    if (!tmp) {
        snprintf(out, n, "(message hidden: out of memory)");
        return out;
    }
    redact(text, tmp, n);
    size_t len = 0;
    for (const char *p = tmp; *p && len + 1 < n;) {
        size_t best = 0;
        for (int i = 0; i < nsecrets; i++) {
            size_t k = strlen(secrets[i]);
            if (k > best && !strncmp(p, secrets[i], k))
                best = k;
        }
        if (best) {
            for (const char *r = REDACTED; *r && len + 1 < n; r++)
                out[len++] = *r;
            p += best;
        } else {
            out[len++] = *p++;
        }
    }
    out[len] = '\0';
    free(tmp);
    return out;
}

/* Makes text one line of printable text in out (n bytes): line breaks and
 * tabs become spaces (a backend's message may span lines), other control
 * bytes \xHH, so that what a user typed cannot break the line or drive the
 * terminal. */
static void one_line(const char *text, char *out, size_t n)
{
    size_t len = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && len + 5 < n; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            if (len && out[len - 1] != ' ')
                out[len++] = ' ';
        } else if (*p < 0x20 || *p == 0x7f) {
            len += (size_t)snprintf(out + len, n - len, "\\x%02x", *p);
        } else {
            out[len++] = (char)*p;
        }
    }
    while (len && out[len - 1] == ' ')
        len--;
    out[len] = '\0';
}

void cli_fail(FILE *f, const char *cmd, const char *fmt, ...)
{
    char msg[CLI_ERRLEN * 2], clean[CLI_ERRLEN * 2], line[CLI_ERRLEN * 2];
    int k = snprintf(msg, sizeof msg, "ipborg%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
    va_end(ap);
    one_line(cli_scrub(msg, clean, sizeof clean), line, sizeof line);
    fprintf(f, "%s\n", line);
    fflush(f);
}

/* The scrubbing stream: fopencookie with line buffering, so each write call
 * gets whole lines (or what an fflush pushed out, such as a prompt). */
static ssize_t scrub_write(void *cookie, const char *buf, size_t size)
{
    FILE *dest = cookie;
    size_t done = 0;
    while (done < size) {
        /* One NUL-free piece at a time (messages hold none; be safe anyway). */
        size_t k = strnlen(buf + done, size - done);
        if (k) {
            char *in = malloc(k + 1);
            size_t cap = 3 * k + 64;   /* "***" may be longer than what it hides */
            char *out = malloc(cap);
            if (!in || !out) {
                free(in);
                free(out);
                return -1;
            }
            memcpy(in, buf + done, k);
            in[k] = '\0';
            cli_scrub(in, out, cap);
            fputs(out, dest);
            free(in);
            free(out);
        }
        done += k;
        if (done < size) {
            fputc('\0', dest);
            done++;
        }
    }
    fflush(dest);
    return (ssize_t)size;
}

FILE *cli_scrubbing_stream(FILE *dest)
{
    cookie_io_functions_t io = {.write = scrub_write};
    FILE *f = fopencookie(dest, "w", io);
    if (f)
        setvbuf(f, NULL, _IOLBF, 1 << 16);
    return f;
}

/* --- parsing ---------------------------------------------------------------------- */

static const char *env_value(const char *name)
{
    const char *v = name ? getenv(name) : NULL;
    return v && *v ? v : NULL;
}

/* A whole decimal number in [min, max]: no blanks, no '+', no wrap-around. */
static int parse_number(const char *s, long long min, long long max, long long *out)
{
    if (!s || !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static void errf(char *err, const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errf(char *err, const struct cli_command *cmd, const char *fmt, ...)
{
    char msg[CLI_ERRLEN], clean[CLI_ERRLEN];
    int k = snprintf(msg, sizeof msg, "ipborg %s: ", cmd->name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
    va_end(ap);
    one_line(cli_scrub(msg, clean, sizeof clean), err, CLI_ERRLEN);
}

static int find_option(const struct cli_command *cmd, const char *name, size_t len)
{
    for (int i = 0; i < cmd->nopts; i++) {
        const char *n = cmd->opts[i].name;
        if (n && strlen(n) == len && !strncmp(n, name, len))
            return i;
    }
    return -1;
}

/* Checks and stores value of option i (from a flag, the environment or the
 * default); `what` names its origin in the error. */
static int set_value(const struct cli_command *cmd, struct cli_values *v, int i,
                     const char *value, enum cli_source from, const char *what, char *err)
{
    const struct cli_option *o = &cmd->opts[i];
    if (o->kind == CLI_NUMBER) {
        long long n;
        if (parse_number(value, o->min, o->max, &n)) {
            errf(err, cmd, "%s takes a whole number from %lld to %lld, not '%s'", what, o->min,
                 o->max, value);
            return -1;
        }
        v->num[i] = n;
    } else if (o->kind == CLI_FLAG) {
        v->num[i] = 1;
    }
    v->text[i] = value;
    v->from[i] = from;
    return 0;
}

int cli_parse(const struct cli_command *cmd, int argc, char **argv, struct cli_values *v,
              char *err)
{
    memset(v, 0, sizeof *v);
    v->cmd = cmd;
    err[0] = '\0';
    int only_args = 0;
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a];
        cli_note_secrets(s);
        if (only_args || s[0] != '-' || !strcmp(s, "-")) {
            if (v->nargs >= cmd->max_args) {
                errf(err, cmd, "unexpected argument '%s' (see ipborg %s --help)", s, cmd->name);
                return CLI_USAGE;
            }
            v->args[v->nargs++] = s;
            continue;
        }
        if (!strcmp(s, "--")) {
            only_args = 1;
            continue;
        }
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            v->help = 1;
            continue;
        }
        if (s[1] != '-') {
            errf(err, cmd, "unknown option '%s' (see ipborg %s --help)", s, cmd->name);
            return CLI_USAGE;
        }
        const char *name = s + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int i = find_option(cmd, name, len);
        if (i < 0) {
            errf(err, cmd, "unknown option '%.*s' (see ipborg %s --help)", (int)(len + 2), s,
                 cmd->name);
            return CLI_USAGE;
        }
        const struct cli_option *o = &cmd->opts[i];
        char flag[80];
        snprintf(flag, sizeof flag, "--%s", o->name);
        if (o->kind == CLI_FLAG) {
            if (eq) {
                errf(err, cmd, "option %s takes no value", flag);
                return CLI_USAGE;
            }
            set_value(cmd, v, i, "1", CLI_GIVEN, flag, err);
            continue;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!eq) {
            if (a + 1 >= argc) {
                errf(err, cmd, "option %s needs a value", flag);
                return CLI_USAGE;
            }
            value = argv[++a];
            cli_note_secrets(value);
        }
        if (!*value) {
            errf(err, cmd, "option %s needs a value, not an empty one", flag);
            return CLI_USAGE;
        }
        if (set_value(cmd, v, i, value, CLI_GIVEN, flag, err))
            return CLI_USAGE;
    }
    /* What no flag gave: the environment, then the default. */
    for (int i = 0; i < cmd->nopts; i++) {
        const struct cli_option *o = &cmd->opts[i];
        if (v->from[i] == CLI_GIVEN)
            continue;
        const char *e = env_value(o->env);
        if (e) {
            cli_note_secrets(e);
            char what[80];
            snprintf(what, sizeof what, "%s (environment)", o->env);
            if (o->kind == CLI_FLAG)
                e = "1";
            /* --help is answered even beside a bad environment. */
            if (set_value(cmd, v, i, e, CLI_ENV, what, err) && !v->help)
                return CLI_USAGE;
        } else if (o->def) {
            if (set_value(cmd, v, i, o->def, CLI_DEFAULT, "the default", err))
                return CLI_USAGE;
        }
    }
    if (v->help)
        return CLI_HELP;
    if (v->nargs < cmd->min_args) {
        errf(err, cmd, "which %s? (see ipborg %s --help)",
             cmd->args_hint ? cmd->args_hint : "argument", cmd->name);
        return CLI_USAGE;
    }
    return CLI_OK;
}

const char *cli_text(const struct cli_values *v, int opt)
{
    return v->text[opt];
}

long long cli_num(const struct cli_values *v, int opt)
{
    return v->num[opt];
}

int cli_flag(const struct cli_values *v, int opt)
{
    return v->from[opt] != CLI_UNSET && v->num[opt] != 0;
}

/* --- help --------------------------------------------------------------------------- */

#define HELP_COL 30
#define HELP_WIDTH 79

/* Writes text word-wrapped from column col (the cursor is at column at),
 * continuation lines indented to col. */
static void wrap(FILE *f, const char *text, int col, int at)
{
    if (at > col - 2) {
        fputc('\n', f);
        at = 0;
    }
    fprintf(f, "%*s", col - at, "");
    at = col;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t w = strcspn(p, " ");
        if (!w)
            break;
        if (at > col && at + 1 + (int)w > HELP_WIDTH) {
            fprintf(f, "\n%*s", col, "");
            at = col;
        } else if (at > col) {
            fputc(' ', f);
            at++;
        }
        fwrite(p, 1, w, f);
        at += (int)w;
        p += w;
    }
    fputc('\n', f);
}

static void help_line(FILE *f, const struct cli_option *o)
{
    char head[96], text[512];
    if (o->name)
        snprintf(head, sizeof head, "  --%s%s%s", o->name, o->kind == CLI_FLAG ? "" : " ",
                 o->kind == CLI_FLAG ? "" : (o->arg ? o->arg : "VALUE"));
    else
        snprintf(head, sizeof head, "  %s", o->env);
    int k = snprintf(text, sizeof text, "%s", o->help ? o->help : "");
    if ((o->name && o->env) || o->def) {
        k += snprintf(text + k, sizeof text - (size_t)k, " (");
        if (o->name && o->env)
            k += snprintf(text + k, sizeof text - (size_t)k, "%s%s", o->env, o->def ? "; " : "");
        if (o->def)
            k += snprintf(text + k, sizeof text - (size_t)k, "default %s", o->def);
        snprintf(text + k, sizeof text - (size_t)k, ")");
    }
    fputs(head, f);
    wrap(f, text, HELP_COL, (int)strlen(head));
}

void cli_help(const struct cli_command *cmd, FILE *f)
{
    fprintf(f, "usage: ipborg %s %s\n", cmd->name, cmd->usage ? cmd->usage : "[options]");
    if (cmd->about) {
        fputc('\n', f);
        fputs(cmd->about, f);
        if (cmd->about[strlen(cmd->about) - 1] != '\n')
            fputc('\n', f);
    }
    fputs("\nOptions:\n", f);
    for (int i = 0; i < cmd->nopts; i++)
        if (cmd->opts[i].name)
            help_line(f, &cmd->opts[i]);
    fputs("  --help", f);
    wrap(f, "this text", HELP_COL, 8);
    int envs = 0;
    for (int i = 0; i < cmd->nopts; i++)
        if (!cmd->opts[i].name) {
            if (!envs++)
                fputs("\nEnvironment:\n", f);
            help_line(f, &cmd->opts[i]);
        }
    fputs("\nA flag wins over its environment variable. Exit status: 0 done, 1 the work\n"
          "failed, 2 a wrong command line.\n", f);
}

/* --- dispatch ------------------------------------------------------------------------- */

const struct cli_command *cli_find(const struct cli_command *cmds, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(cmds[i].name, name))
            return &cmds[i];
    return NULL;
}

static void top_help(const struct cli_command *cmds, int n, FILE *f)
{
    fputs("usage: ipborg COMMAND [options]\n\nCommands:\n", f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "  %-10s", cmds[i].name);
        wrap(f, cmds[i].summary ? cmds[i].summary : "", 14, 12);
    }
    fputs("\n`ipborg COMMAND --help` shows a command's options. Database URLs:\n"
          "sqlite:///relative.db, sqlite:////absolute.db, postgresql://...\n", f);
}

int cli_main(const struct cli_command *cmds, int n, int argc, char **argv)
{
    for (int a = 1; a < argc; a++)
        cli_note_secrets(argv[a]);
    if (argc < 2) {
        top_help(cmds, n, stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        top_help(cmds, n, stdout);
        return 0;
    }
    const struct cli_command *cmd = cli_find(cmds, n, name);
    if (!cmd) {
        cli_fail(stderr, NULL, "unknown command '%s' (see ipborg --help)", name);
        return CLI_USAGE;
    }
    struct cli_values v;
    char err[CLI_ERRLEN];
    int rc = cli_parse(cmd, argc - 1, argv + 1, &v, err);
    if (rc == CLI_HELP) {
        cli_help(cmd, stdout);
        return 0;
    }
    if (rc != CLI_OK) {
        fprintf(stderr, "%s\n", err);
        return CLI_USAGE;
    }
    return cmd->run(&v);
}
