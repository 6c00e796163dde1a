/* test_cli.c -- the one option parser (cli.h) on serve's real option table
 * (config.h) and on a small table of its own: a flag wins over its
 * environment variable, both `--opt value` and `--opt=value`, every usage
 * error is one redacted line and exit status 2, numbers are range-checked
 * without wrap-around, --help is generated from the table; passwords are
 * scrubbed from messages and from the scrubbing stream; and how
 * `ipborg delete` reads a grid's URL (admin_parse_target). */
#include "unit.h"

#include "admin.h"
#include "cli.h"
#include "config.h"

static void clear_env(void)
{
    static const char *const names[] = {"PORT", "IPBORG_HOST", "DATABASE_URL",
                                        "IPBORG_PUBLIC_URL", "HASHIDS_PUBLIC_SALT",
                                        "HASHIDS_SECRET_SALT", "CLI_TEST_NAME"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    cli_forget_secrets();
    return 0;
}

static int no_run(const struct cli_values *v)
{
    (void)v;
    return 0;
}

static const struct cli_command serve_cmd = {
    "serve", "[options]", NULL, "run", config_serve_options, CFG_NOPTS, 0, 0, NULL, no_run,
};

enum { T_NAME, T_COUNT, T_YES, T_NOPTS };
static const struct cli_option t_opts[T_NOPTS] = {
    [T_NAME] = {"name", CLI_TEXT, "URL", "CLI_TEST_NAME", "dflt", 0, 0, "a name"},
    [T_COUNT] = {"count", CLI_NUMBER, "N", NULL, NULL, -5, 5, "a count"},
    [T_YES] = {"yes", CLI_FLAG, NULL, NULL, NULL, 0, 0, "say yes"},
};
static const struct cli_command t_cmd = {
    "tool", "[options] THING", "About the tool.", "a tool", t_opts, T_NOPTS, 1, 2, "thing",
    no_run,
};

/* Parses a NULL-terminated argument list (the command name first). */
static int parse(const struct cli_command *cmd, struct cli_values *v, char *err, ...)
{
    static char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 31)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return cli_parse(cmd, argc, argv, v, err);
}

/* A usage error: CLI_USAGE, one line that names the command and holds want. */
#define USAGE_ERROR(want, ...)                                                       \
    do {                                                                             \
        int rc_ = parse(__VA_ARGS__, NULL);                                          \
        if (rc_ != CLI_USAGE)                                                        \
            fail_msg("line %d: expected a usage error, got %d", __LINE__, rc_);      \
        assert_null(strchr(err, '\n'));                                              \
        if (!strstr(err, want))                                                      \
            fail_msg("line %d: error '%s' lacks '%s'", __LINE__, err, want);         \
    } while (0)

static void test_defaults(void **state)
{
    (void)state;
    struct cli_values v;
    char err[CLI_ERRLEN];
    assert_int_equal(parse(&serve_cmd, &v, err, "serve", NULL), CLI_OK);
    struct config c;
    config_from_cli(&c, &v);
    assert_int_equal(c.port, 8000);
    assert_string_equal(c.host, "127.0.0.1");
    assert_string_equal(c.db_url, CONFIG_DEFAULT_DB_URL);
    assert_null(c.public_url);
    assert_null(c.env_public_salt);
    assert_int_equal(c.max_body, 10485760);
    assert_int_equal(c.max_cells, 250000);
    assert_int_equal(c.max_connections, 1000);
    assert_int_equal(c.max_per_ip, 128);
    assert_int_equal(c.client_timeout, 10);
    assert_int_equal(c.max_header_bytes, 32768);
    assert_int_equal(c.threads, 0);
    assert_int_equal(c.cache_mb, 32);
    assert_int_equal(c.quiet, 0);
    assert_int_equal(c.force_salts, 0);
    assert_int_equal(v.from[CFG_PORT], CLI_DEFAULT);
}

static void test_flag_wins_over_environment(void **state)
{
    (void)state;
    struct cli_values v;
    char err[CLI_ERRLEN];
    struct config c;
    setenv("PORT", "9001", 1);
    setenv("DATABASE_URL", "sqlite:///env.db", 1);
    setenv("IPBORG_HOST", "::1", 1);
    setenv("IPBORG_PUBLIC_URL", "https://env.example", 1);
    setenv("HASHIDS_PUBLIC_SALT", "p", 1);
    setenv("HASHIDS_SECRET_SALT", "s", 1);
    assert_int_equal(parse(&serve_cmd, &v, err, "serve", NULL), CLI_OK);
    config_from_cli(&c, &v);
    assert_int_equal(c.port, 9001);
    assert_int_equal(v.from[CFG_PORT], CLI_ENV);
    assert_string_equal(c.db_url, "sqlite:///env.db");
    assert_string_equal(c.host, "::1");
    assert_string_equal(c.public_url, "https://env.example");
    assert_string_equal(c.env_public_salt, "p");
    assert_string_equal(c.env_secret_salt, "s");

    assert_int_equal(parse(&serve_cmd, &v, err, "serve", "--port", "8015", "--db-url=sqlite:///f.db",
                           "--host", "0.0.0.0", "--public-url=https://flag.example", NULL),
                     CLI_OK);
    config_from_cli(&c, &v);
    assert_int_equal(c.port, 8015);
    assert_int_equal(v.from[CFG_PORT], CLI_GIVEN);
    assert_string_equal(c.db_url, "sqlite:///f.db");
    assert_string_equal(c.host, "0.0.0.0");
    assert_string_equal(c.public_url, "https://flag.example");

    /* A bad environment value is an error only when no flag stands in for it. */
    setenv("PORT", "80OO", 1);
    assert_int_equal(parse(&serve_cmd, &v, err, "serve", "--port=8002", NULL), CLI_OK);
    assert_int_equal(cli_num(&v, CFG_PORT), 8002);
    USAGE_ERROR("PORT", &serve_cmd, &v, err, "serve");
    assert_non_null(strstr(err, "80OO"));
    /* An empty variable counts as unset. */
    setenv("PORT", "", 1);
    setenv("DATABASE_URL", "", 1);
    assert_int_equal(parse(&serve_cmd, &v, err, "serve", NULL), CLI_OK);
    assert_int_equal(cli_num(&v, CFG_PORT), 8000);
    assert_string_equal(cli_text(&v, CFG_DB_URL), CONFIG_DEFAULT_DB_URL);
    clear_env();
}

static void test_both_forms_and_order(void **state)
{
    (void)state;
    struct cli_values v;
    char err[CLI_ERRLEN];
    assert_int_equal(parse(&t_cmd, &v, err, "tool", "a", "--count", "-3", "--name=x=y", "b",
                           "--yes", NULL), CLI_OK);
    assert_int_equal(v.nargs, 2);
    assert_string_equal(v.args[0], "a");
    assert_string_equal(v.args[1], "b");
    assert_int_equal(cli_num(&v, T_COUNT), -3);
    assert_string_equal(cli_text(&v, T_NAME), "x=y");
    assert_true(cli_flag(&v, T_YES));
    assert_int_equal(parse(&t_cmd, &v, err, "tool", "--count=5", "--", "--yes", NULL), CLI_OK);
    assert_int_equal(v.nargs, 1);
    assert_string_equal(v.args[0], "--yes");
    assert_false(cli_flag(&v, T_YES));
    assert_string_equal(cli_text(&v, T_NAME), "dflt");
    assert_int_equal(v.from[T_COUNT], CLI_GIVEN);
    /* Each option given twice: the last one counts. */
    assert_int_equal(parse(&t_cmd, &v, err, "tool", "--count=1", "--count", "2", "a", NULL),
                     CLI_OK);
    assert_int_equal(cli_num(&v, T_COUNT), 2);
}

static void test_usage_errors(void **state)
{
    (void)state;
    struct cli_values v;
    char err[CLI_ERRLEN];
    USAGE_ERROR("ipborg serve: unknown option '--bogus'", &serve_cmd, &v, err, "serve", "--bogus");
    USAGE_ERROR("unknown option '--bogus'", &serve_cmd, &v, err, "serve", "--bogus=1");
    USAGE_ERROR("unknown option '-x'", &serve_cmd, &v, err, "serve", "-x");
    /* No abbreviations: --db is not --db-url. */
    USAGE_ERROR("unknown option '--db'", &serve_cmd, &v, err, "serve", "--db", "sqlite:///a.db");
    USAGE_ERROR("--port needs a value", &serve_cmd, &v, err, "serve", "--port");
    USAGE_ERROR("--db-url needs a value", &serve_cmd, &v, err, "serve", "--db-url=");
    USAGE_ERROR("--db-url needs a value", &serve_cmd, &v, err, "serve", "--db-url", "");
    USAGE_ERROR("--quiet takes no value", &serve_cmd, &v, err, "serve", "--quiet=yes");
    USAGE_ERROR("unexpected argument 'extra'", &serve_cmd, &v, err, "serve", "extra");
    USAGE_ERROR("ipborg tool: which thing?", &t_cmd, &v, err, "tool", "--yes");
    /* What was typed cannot break the line or reach the terminal as control bytes. */
    USAGE_ERROR("not '1 2'", &serve_cmd, &v, err, "serve", "--port", "1\n2");
    USAGE_ERROR("unexpected argument 'a\\x1b[2Jb'", &serve_cmd, &v, err, "serve", "a\x1b[2Jb");
    USAGE_ERROR("unexpected argument 'c'", &t_cmd, &v, err, "tool", "a", "b", "c");
}

static void test_numbers(void **state)
{
    (void)state;
    struct cli_values v;
    char err[CLI_ERRLEN];
    static const char *const bad_port[] = {"70000", "65536", "-1", "80x", "x80", " 80", "80 ",
                                           "+80", "0x50", "8e3", "", "99999999999999999999",
                                           "-99999999999999999999", "18446744073709559616"};
    for (size_t i = 0; i < sizeof bad_port / sizeof bad_port[0]; i++) {
        int rc = parse(&serve_cmd, &v, err, "serve", "--port", bad_port[i], NULL);
        if (rc != CLI_USAGE)
            fail_msg("--port '%s' was accepted", bad_port[i]);
    }
    USAGE_ERROR("--port takes a whole number from 0 to 65535, not '70000'", &serve_cmd, &v,
                err, "serve", "--port", "70000");
    USAGE_ERROR("--max-body takes a whole number", &serve_cmd, &v, err, "serve", "--max-body",
                "-1");
    USAGE_ERROR("not '99999999999999999999'", &serve_cmd, &v, err, "serve",
                "--max-body=99999999999999999999");
    USAGE_ERROR("--max-body", &serve_cmd, &v, err, "serve", "--max-body", "1099511627777");
    USAGE_ERROR("--max-connections", &serve_cmd, &v, err, "serve", "--max-connections", "0");
    USAGE_ERROR("--count", &t_cmd, &v, err, "tool", "--count", "-6", "a");
    /* The bounds themselves are fine. */
    assert_int_equal(parse(&serve_cmd, &v, err, "serve", "--port", "0", "--max-body",
                           "1099511627776", "--max-connections-per-ip", "0", "--cache-mb", "0",
                           NULL), CLI_OK);
    struct config c;
    config_from_cli(&c, &v);
    assert_int_equal(c.port, 0);
    assert_int_equal(c.max_body, 1099511627776ULL);
    assert_int_equal(parse(&serve_cmd, &v, err, "serve", "--port=65535", NULL), CLI_OK);
    assert_int_equal(cli_num(&v, CFG_PORT), 65535);
    assert_int_equal(parse(&t_cmd, &v, err, "tool", "--count=-5", "a", NULL), CLI_OK);
    assert_int_equal(cli_num(&v, T_COUNT), -5);
}

static char *help_text(const struct cli_command *cmd)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    cli_help(cmd, f);
    fclose(f);
    return text;
}

/* Joins continuation lines (indented to column 30) to their option's line. */
static void join_lines(char *h)
{
    static const char cont[] = "\n                              ";
    char *q = h;
    for (const char *p = h; *p;) {
        if (!strncmp(p, cont, sizeof cont - 1)) {
            *q++ = ' ';
            p += sizeof cont - 1;
        } else {
            *q++ = *p++;
        }
    }
    *q = '\0';
}

static void test_help_from_the_table(void **state)
{
    (void)state;
    struct cli_values v;
    char err[CLI_ERRLEN];
    assert_int_equal(parse(&serve_cmd, &v, err, "serve", "--help", NULL), CLI_HELP);
    assert_int_equal(parse(&serve_cmd, &v, err, "serve", "--quiet", "-h", NULL), CLI_HELP);
    /* Help even beside a bad environment, not beside a bad command line. */
    setenv("PORT", "nope", 1);
    assert_int_equal(parse(&serve_cmd, &v, err, "serve", "--help", NULL), CLI_HELP);
    clear_env();
    assert_int_equal(parse(&serve_cmd, &v, err, "serve", "--bogus", "--help", NULL), CLI_USAGE);
    /* A tool's missing argument does not stop its help. */
    assert_int_equal(parse(&t_cmd, &v, err, "tool", "--help", NULL), CLI_HELP);

    char *h = help_text(&serve_cmd);
    assert_true(!strncmp(h, "usage: ipborg serve ", 20));
    /* Every line fits 79 columns. */
    for (char *line = h; *line;) {
        size_t n = strcspn(line, "\n");
        if (n > 79)
            fail_msg("help line too long: %.*s", (int)n, line);
        line += n + (line[n] == '\n');
    }
    /* Continuation lines (indented to column 30) joined to their option's. */
    join_lines(h);
    for (int i = 0; i < CFG_NOPTS; i++) {
        const struct cli_option *o = &config_serve_options[i];
        char want[96];
        if (o->name) {
            snprintf(want, sizeof want, "\n  --%s", o->name);
            if (!strstr(h, want))
                fail_msg("help lacks %s:\n%s", want, h);
        }
        if (o->env && !strstr(h, o->env))
            fail_msg("help lacks %s", o->env);
        if (o->def) {
            snprintf(want, sizeof want, "default %s)", o->def);
            if (!strstr(h, want))
                fail_msg("help lacks '%s'", want);
        }
    }
    assert_non_null(strstr(h, "(PORT; default 8000)"));
    assert_non_null(strstr(h, "\n  --help"));
    free(h);
    h = help_text(&t_cmd);
    assert_non_null(strstr(h, "usage: ipborg tool [options] THING\n\nAbout the tool.\n"));
    assert_non_null(strstr(h, "  --name URL"));
    assert_non_null(strstr(h, "(CLI_TEST_NAME; default dflt)"));
    assert_non_null(strstr(h, "  --yes "));
    free(h);
}

static void test_no_password_in_errors(void **state)
{
    (void)state;
    struct cli_values v;
    char err[CLI_ERRLEN];
    USAGE_ERROR("unknown option", &serve_cmd, &v, err, "serve", "--db-ulr=postgresq://u:PW@h/db");
    assert_null(strstr(err, "PW"));
    USAGE_ERROR("unexpected argument 'postgresql://u:***@h/db'", &serve_cmd, &v, err, "serve",
                "postgresql://u:PW@h/db");
    assert_null(strstr(err, "PW"));
    USAGE_ERROR("--port", &serve_cmd, &v, err, "serve", "--port", "postgresql://u:PW@h/db");
    assert_null(strstr(err, "PW"));
    USAGE_ERROR("unexpected argument", &serve_cmd, &v, err, "serve", "password=PW");
    assert_null(strstr(err, "PW"));
    /* A password remembered from the command line is hidden wherever it shows up
     * later, also in forms redact() does not know, and %-decoded. */
    assert_int_equal(parse(&serve_cmd, &v, err, "serve", "--db-url",
                           "postgresql://u:P%zzW@h/db", NULL), CLI_OK);
    char out[256];
    cli_scrub("invalid percent-encoded token: \"P%zzW\"", out, sizeof out);
    assert_string_equal(out, "invalid percent-encoded token: \"***\"");
    setenv("DATABASE_URL", "postgresql://u:s%40cret@h/db?password=Other1", 1);
    assert_int_equal(parse(&serve_cmd, &v, err, "serve", NULL), CLI_OK);
    cli_scrub("user s@cret, s%40cret, Other1 and postgresql://u:x@h", out, sizeof out);
    assert_string_equal(out, "user ***, ***, *** and postgresql://u:***@h");
    clear_env();
    /* Without a remembered password, text stays as it is. */
    cli_forget_secrets();
    cli_scrub("P%zzW and s@cret", out, sizeof out);
    assert_string_equal(out, "P%zzW and s@cret");
}

static void test_scrubbing_stream(void **state)
{
    (void)state;
    cli_note_secrets("postgresql://u:Hidden1@h/db");
    char *text = NULL;
    size_t len = 0;
    FILE *dest = open_memstream(&text, &len);
    assert_non_null(dest);
    FILE *f = cli_scrubbing_stream(dest);
    assert_non_null(f);
    fprintf(f, "ipborg x: cannot open postgresql://u:");
    fprintf(f, "PW@h/db: token \"Hidden1\"\n");
    fprintf(f, "Delete? [y/N] ");
    fflush(f);
    fflush(dest);
    assert_string_equal(text, "ipborg x: cannot open postgresql://u:***@h/db: token \"***\"\n"
                              "Delete? [y/N] ");
    fprintf(f, "progress 1\rprogress 2\n");
    fclose(f);
    fclose(dest);
    assert_non_null(strstr(text, "progress 1\rprogress 2\n"));
    free(text);
}

static void test_fail_line(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cli_fail(f, "delete", "cannot open '%s'", "postgresq://u:PW@h");
    cli_fail(f, NULL, "unknown command '%s'", "x");
    cli_fail(f, "serve", "%s", "connection failed\n\tIs the server running?\n");
    fclose(f);
    assert_string_equal(text, "ipborg delete: cannot open 'postgresq://u:***@h'\n"
                              "ipborg: unknown command 'x'\n"
                              "ipborg serve: connection failed Is the server running?\n");
    free(text);
}

static void test_main_dispatch(void **state)
{
    (void)state;
    char *none[] = {"ipborg", NULL};
    char *unknown[] = {"ipborg", "frobnicate", NULL};
    char *help[] = {"ipborg", "tool", "--help", NULL};
    char *bad[] = {"ipborg", "tool", "--nope", NULL};
    char *good[] = {"ipborg", "tool", "x", NULL};
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    assert_int_equal(cli_main(&t_cmd, 1, 1, none), 2);
    assert_int_equal(cli_main(&t_cmd, 1, 2, unknown), 2);
    assert_int_equal(cli_main(&t_cmd, 1, 3, help), 0);
    assert_int_equal(cli_main(&t_cmd, 1, 3, bad), 2);
    assert_int_equal(cli_main(&t_cmd, 1, 3, good), 0);
    fclose(stdout);
    stdout = saved;
}

/* --- ipborg delete's argument --------------------------------------------------------- */

static void target_ok(const char *arg, int secret, enum grid_table table, const char *hash)
{
    struct admin_target t;
    char err[256] = "";
    if (admin_parse_target(arg, secret, &t, err, sizeof err))
        fail_msg("'%s' refused: %s", arg, err);
    if (t.table != table || strcmp(t.hash, hash))
        fail_msg("'%s' gave table %d hash '%s'", arg, t.table, t.hash);
}

static void target_bad(const char *arg, int secret)
{
    struct admin_target t;
    char err[256] = "";
    if (!admin_parse_target(arg, secret, &t, err, sizeof err))
        fail_msg("'%s' accepted as %d/%s", arg, t.table, t.hash);
    assert_true(err[0] != '\0');
    assert_null(strchr(err, '\n'));
}

static void test_delete_target(void **state)
{
    (void)state;
    target_ok("bizkiL", 0, GRID_PUBLIC, "bizkiL");
    target_ok("MiXoi4", 1, GRID_SECRET, "MiXoi4");
    target_ok("../etc", 0, GRID_PUBLIC, "../etc");   /* the hash check refuses it later */
    target_ok("http://ipythonblocks.org/bizkiL", 0, GRID_PUBLIC, "bizkiL");
    target_ok("https://grids.example:8443/bizkiL", 0, GRID_PUBLIC, "bizkiL");
    target_ok("HTTPS://x/bizkiL", 0, GRID_PUBLIC, "bizkiL");
    target_ok("http://[::1]:8000/bizkiL/", 0, GRID_PUBLIC, "bizkiL");
    target_ok("http://h/bizkiL//", 0, GRID_PUBLIC, "bizkiL");
    target_ok("http://h/bizkiL?utm=1#top", 0, GRID_PUBLIC, "bizkiL");
    target_ok("http://h/bizkiL#frag/ment", 0, GRID_PUBLIC, "bizkiL");
    target_ok("https://h/secret/MiXoi4", 0, GRID_SECRET, "MiXoi4");
    target_ok("https://h/secret/MiXoi4/?x=/y", 1, GRID_SECRET, "MiXoi4");
    target_ok("http://h/get/bizkiL", 0, GRID_PUBLIC, "bizkiL");
    target_ok("http://h/get/secret/MiXoi4", 0, GRID_SECRET, "MiXoi4");
    target_ok("http://h/bizkiL.png", 0, GRID_PUBLIC, "bizkiL");
    target_ok("http://h/secret/MiXoi4.png", 0, GRID_SECRET, "MiXoi4");
    target_ok("/secret/MiXoi4", 0, GRID_SECRET, "MiXoi4");
    target_ok("/bizkiL/", 0, GRID_PUBLIC, "bizkiL");

    target_bad("ftp://h/bizkiL", 0);
    target_bad("postgresql://u:PW@h/bizkiL", 0);
    target_bad("http://", 0);
    target_bad("http://h", 0);
    target_bad("http://h?bizkiL", 0);
    target_bad("http:///bizkiL", 0);
    target_bad("http://h/", 0);
    target_bad("http://h/secret", 0);
    target_bad("http://h/secret/", 0);
    target_bad("http://h/get/", 0);
    target_bad("http://h/about", 1);
    target_bad("http://h/static/style.css", 0);
    target_bad("http://h/gallery/2", 0);
    target_bad("http://h/secret/secret/MiXoi4", 0);
    target_bad("http://h//bizkiL", 0);
    target_bad("http://h/biz%6BiL", 0);
    target_bad("http://h/bizkiL/x", 0);
    target_bad("http://h/get/bizkiL.png", 0);
    target_bad("http://h/.png", 0);
    target_bad("/", 0);
    /* --secret beside a public grid's URL contradicts it. */
    target_bad("http://h/bizkiL", 1);
    /* A hash longer than any hash ID. */
    char longer[200];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    target_bad(longer, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, setup),
        cmocka_unit_test_setup(test_flag_wins_over_environment, setup),
        cmocka_unit_test_setup(test_both_forms_and_order, setup),
        cmocka_unit_test_setup(test_usage_errors, setup),
        cmocka_unit_test_setup(test_numbers, setup),
        cmocka_unit_test_setup(test_help_from_the_table, setup),
        cmocka_unit_test_setup(test_no_password_in_errors, setup),
        cmocka_unit_test_setup(test_scrubbing_stream, setup),
        cmocka_unit_test_setup(test_fail_line, setup),
        cmocka_unit_test_setup(test_main_dispatch, setup),
        cmocka_unit_test_setup(test_delete_target, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cli_forget_secrets();
    return rc;
}
