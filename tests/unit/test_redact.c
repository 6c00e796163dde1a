/* test_redact.c -- no database password survives redact(), whatever form the
 * URL or connection string takes and whatever text surrounds it; and text
 * without a password comes out unchanged. */
#include "unit.h"

#include "redact.h"

static void check(const char *in, const char *want)
{
    char out[512];
    redact(in, out, sizeof out);
    if (strcmp(out, want) != 0)
        fail_msg("redact(\"%s\")\n  gave \"%s\"\n  want \"%s\"", in, out, want);
}

static void test_urls(void **state)
{
    (void)state;
    check("postgresql://u:PW@host/db", "postgresql://u:***@host/db");
    check("postgres://u:PW@h1:5432,h2:5433/db?target_session_attrs=read-write",
          "postgres://u:***@h1:5432,h2:5433/db?target_session_attrs=read-write");
    /* a mistyped scheme is still a URL with a password */
    check("unknown database URL 'postgresq://u:PW@localhost/x'",
          "unknown database URL 'postgresq://u:***@localhost/x'");
    /* '@', '/' and ':' inside an unescaped password */
    check("postgresql://u:p@ss/w:rd@host/db", "postgresql://u:***@host/db");
    check("postgresql://u:%40PW@host", "postgresql://u:***@host");
    check("postgresql://u:@host/db", "postgresql://u:***@host/db");
    /* no password: unchanged */
    check("postgresql://u@host/db", "postgresql://u@host/db");
    check("postgresql://host:5432/db", "postgresql://host:5432/db");
    check("sqlite:///var/a@b.db", "sqlite:///var/a@b.db");
    check("sqlite:////tmp/x.db", "sqlite:////tmp/x.db");
    check("see http://example.org/a:b@c later", "see http://example.org/a:***@c later");
    /* two URLs in one message */
    check("from postgresql://a:X@h/1 to postgresql://b:Y@h/2",
          "from postgresql://a:***@h/1 to postgresql://b:***@h/2");
}

static void test_keywords(void **state)
{
    (void)state;
    check("host=h password=PW dbname=x", "host=h password=*** dbname=x");
    check("host=h password = 'P W\\'x' dbname=x", "host=h password = *** dbname=x");
    check("PASSWORD=PW", "PASSWORD=***");
    check("postgresql://h/db?sslmode=disable&password=PW&x=1",
          "postgresql://h/db?sslmode=disable&password=***&x=1");
    check("missing \"=\" after \"postgresq://u:PW@h\" in connection info string",
          "missing \"=\" after \"postgresq://u:***@h\" in connection info string");
    /* a word that merely ends in "password" is not a key */
    check("mypassword=visible", "mypassword=visible");
    check("the password is wrong", "the password is wrong");
}

static void test_bounds(void **state)
{
    (void)state;
    char small[8];
    redact("postgresql://u:PW@host", small, sizeof small);
    assert_int_equal(strlen(small), 7);
    assert_null(strstr(small, "PW"));
    char one[1];
    redact("abc", one, 1);
    assert_string_equal(one, "");
    char buf[64] = "x postgresql://u:SECRET@h y";
    redact_inplace(buf, sizeof buf);
    assert_string_equal(buf, "x postgresql://u:***@h y");
    char out[16];
    redact(NULL, out, sizeof out);
    assert_string_equal(out, "");
}

/* Random texts around a password never let any of its bytes through. */
static void test_random(void **state)
{
    (void)state;
    srand(7);
    const char *parts[] = {"postgresql://", "u", ":", "@", "/", "?", "&", " ", "'", "password",
                           "=", "h", "x"};
    for (int round = 0; round < 20000; round++) {
        char in[256] = "", out[512];
        int k = 1 + rand() % 10;
        for (int i = 0; i < k; i++)
            strcat(in, parts[rand() % (sizeof parts / sizeof *parts)]);
        strcat(in, "postgresql://u:SeCrEt@h");
        k = rand() % 6;
        for (int i = 0; i < k; i++)
            strcat(in, parts[rand() % (sizeof parts / sizeof *parts)]);
        redact(in, out, sizeof out);
        if (strstr(out, "SeCrEt"))
            fail_msg("password shown: \"%s\" -> \"%s\"", in, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
