/* test_grid.c -- the grid module against the test vectors (tests/vectors/).
 *
 * posts/: every valid_* must validate, every invalid_* and strict_* must be
 * refused with a one-line message that begins with a field path or "body";
 * edge_* must never crash, and those whose answer the vectors' notes settle are
 * held to it. render/: every grid must draw byte for byte as the client did.
 * Garbage given to the renderer must come back as -1, never as a crash. */
#include "unit.h"

#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <time.h>

#include "buf.h"
#include "grid.h"
#include "image.h"

/* ---- helpers ------------------------------------------------------------- */

/* Sorted names in vectors/<dir> that start with prefix and end with suffix. */
struct names {
    char **v;
    size_t n;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct names list_vectors(const char *dir, const char *prefix, const char *suffix)
{
    struct names out = {NULL, 0};
    DIR *d = opendir(vector_path(dir));
    if (!d)
        fail_msg("cannot open %s", vector_path(dir));
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name), sl = strlen(suffix);
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 || len < sl ||
            strcmp(de->d_name + len - sl, suffix) != 0)
            continue;
        out.v = realloc(out.v, (out.n + 1) * sizeof *out.v);
        assert_non_null(out.v);
        out.v[out.n] = malloc(strlen(dir) + len + 2);
        assert_non_null(out.v[out.n]);
        sprintf(out.v[out.n], "%s/%s", dir, de->d_name);
        out.n++;
    }
    closedir(d);
    if (out.n)
        qsort(out.v, out.n, sizeof *out.v, cmp_str);
    return out;
}

static void free_names(struct names *n)
{
    for (size_t i = 0; i < n->n; i++)
        free(n->v[i]);
    free(n->v);
}

/* One line, non-empty, beginning with a field of the post or "body". */
static void assert_good_message(const char *file, const char *msg)
{
    static const char *const fields[] = {
        "body", "python_version", "ipb_version", "ipb_class", "code_cells", "secret",
        "grid_data",
    };
    if (msg[0] == '\0')
        fail_msg("%s: empty message", file);
    if (strchr(msg, '\n') || strchr(msg, '\r'))
        fail_msg("%s: message is not one line: %s", file, msg);
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        size_t n = strlen(fields[i]);
        if (strncmp(msg, fields[i], n) == 0 && msg[n] && strchr(":.[", msg[n]))
            return;
    }
    fail_msg("%s: message names no field: %s", file, msg);
}

/* Validates a vector file; returns the result, message in err. */
static int validate_file(const char *rel, struct grid_post *post, char *err, size_t errlen)
{
    size_t len;
    char *body = read_vector(rel, &len);
    int rc = grid_validate_post(body, len, NULL, post, err, errlen);
    free(body);
    return rc;
}

static int validate_str(const char *s, long long max_cells, char *err, size_t errlen)
{
    struct grid_limits lim = {max_cells};
    struct grid_post post;
    int rc = grid_validate_post(s, strlen(s), &lim, &post, err, errlen);
    grid_post_free(&post);
    return rc;
}

static void assert_refused(const char *rel, const char *expected_start)
{
    struct grid_post post;
    char err[512];
    assert_int_equal(validate_file(rel, &post, err, sizeof err), -1);
    assert_good_message(rel, err);
    if (strncmp(err, expected_start, strlen(expected_start)) != 0)
        fail_msg("%s: expected a message starting with <%s>, got <%s>", rel,
                 expected_start, err);
}

/* ---- posts ---------------------------------------------------------------- */

/* Every valid post passes, and its JSON columns mean what the body said. */
static void test_posts_valid(void **state)
{
    (void)state;
    struct names files = list_vectors("posts", "valid_", ".json");
    assert_true(files.n > 0);
    for (size_t i = 0; i < files.n; i++) {
        struct grid_post post;
        char err[512] = "";
        size_t len;
        char *body = read_vector(files.v[i], &len);
        if (grid_validate_post(body, len, NULL, &post, err, sizeof err) != 0)
            fail_msg("%s refused: %s", files.v[i], err);

        json_t *doc = json_loadb(body, len, 0, NULL);
        assert_non_null(doc);
        json_t *gd = json_loads(post.grid_data, 0, NULL);
        json_t *pv = json_loads(post.python_version, 0, NULL);
        assert_non_null(gd);
        assert_non_null(pv);
        assert_true(json_equal(gd, json_object_get(doc, "grid_data")));
        assert_true(json_equal(pv, json_object_get(doc, "python_version")));
        /* Byte for byte what jansson's own compact dump gives. */
        char *want = json_dumps(json_object_get(doc, "grid_data"), JSON_COMPACT);
        assert_string_equal(post.grid_data, want);
        free(want);
        assert_string_equal(post.ipb_version,
                            json_string_value(json_object_get(doc, "ipb_version")));
        assert_string_equal(post.ipb_class,
                            json_string_value(json_object_get(doc, "ipb_class")));
        assert_int_equal(post.secret, json_is_true(json_object_get(doc, "secret")));
        json_t *cc = json_object_get(doc, "code_cells");
        if (json_is_null(cc)) {
            assert_null(post.code_cells);
        } else {
            json_t *got = json_loads(post.code_cells, 0, NULL);
            assert_non_null(got);
            assert_true(json_equal(got, cc));
            json_decref(got);
        }
        json_decref(gd);
        json_decref(pv);
        json_decref(doc);
        free(body);
        grid_post_free(&post);
    }
    free_names(&files);
}

static void refuse_all(const char *prefix)
{
    struct names files = list_vectors("posts", prefix, ".json");
    assert_true(files.n > 0);
    for (size_t i = 0; i < files.n; i++) {
        struct grid_post post;
        char err[512] = "";
        if (validate_file(files.v[i], &post, err, sizeof err) != -1)
            fail_msg("%s accepted", files.v[i]);
        assert_good_message(files.v[i], err);
    }
    free_names(&files);
}

static void test_posts_invalid(void **state)
{
    (void)state;
    refuse_all("invalid_");
}

static void test_posts_strict(void **state)
{
    (void)state;
    refuse_all("strict_");
}

/* Messages for files whose broken rule is known (invalid_README.tsv,
 * strict_README.tsv). */
static void test_posts_messages(void **state)
{
    (void)state;
    assert_refused("posts/invalid_01.json", "body: missing key \"python_version\"");
    assert_refused("posts/invalid_04.json", "body: missing key \"code_cells\"");
    assert_refused("posts/invalid_08.json", "grid_data: missing key \"width\"");
    assert_refused("posts/invalid_10.json", "grid_data: missing key \"blocks\"");
    assert_refused("posts/invalid_11.json", "python_version: expected an array of 5 items");
    assert_refused("posts/invalid_14.json", "python_version: expected an array of 5 items");
    assert_refused("posts/invalid_16.json", "ipb_version:");
    assert_refused("posts/invalid_19.json", "ipb_version:");
    assert_refused("posts/invalid_21.json", "ipb_class: must be \"BlockGrid\" or \"ImageGrid\"");
    assert_refused("posts/invalid_23.json", "ipb_class:");
    assert_refused("posts/invalid_24.json", "code_cells:");
    assert_refused("posts/invalid_29.json", "secret:");
    assert_refused("posts/invalid_31.json", "grid_data: expected an object");
    assert_refused("posts/invalid_36.json", "grid_data.width:");
    assert_refused("posts/invalid_40.json", "grid_data.width:");
    assert_refused("posts/invalid_42.json", "grid_data.height:");
    assert_refused("posts/invalid_43.json", "grid_data.blocks:");
    assert_refused("posts/invalid_48.json", "grid_data.blocks[");
    assert_refused("posts/invalid_52.json", "grid_data.blocks[");
    assert_refused("posts/invalid_53.json", "grid_data.blocks[");
    assert_refused("posts/invalid_58.json", "grid_data.width:");
    assert_refused("posts/invalid_61.json", "body: expected a JSON object");
    assert_refused("posts/invalid_65.json", "body:");
    assert_refused("posts/invalid_69.json", "body: not valid JSON (line ");
    assert_refused("posts/invalid_77.json", "body:");
    assert_refused("posts/invalid_80.json", "body:");
    assert_refused("posts/invalid_81.json", "grid_data.lines_on:");
    assert_refused("posts/invalid_82.json", "grid_data.blocks[0][0]: expected 4 integers");
    assert_refused("posts/strict_01.json", "grid_data.blocks: expected");
    assert_refused("posts/strict_05.json", "grid_data.blocks[1]:");
    assert_refused("posts/strict_07.json", "grid_data.blocks[");
    assert_refused("posts/strict_09.json", "grid_data.blocks[");
    assert_refused("posts/strict_10.json", "grid_data.blocks[");
    assert_refused("posts/strict_13.json", "code_cells[");
    assert_refused("posts/strict_16.json", "grid_data: width x height");
    assert_refused("posts/strict_17.json", "grid_data.width:");
    assert_refused("posts/strict_18.json", "grid_data.height:");
    assert_refused("posts/strict_21.json", "body:");
    assert_refused("posts/strict_23.json", "ipb_version:");
}

/* edge_*: never a crash; where the README settles the answer, that answer. */
static void test_posts_edge(void **state)
{
    (void)state;
    struct names files = list_vectors("posts", "edge_", ".json");
    assert_true(files.n > 0);
    for (size_t i = 0; i < files.n; i++) {
        struct grid_post post;
        char err[512] = "";
        if (validate_file(files.v[i], &post, err, sizeof err) == 0)
            grid_post_free(&post);
        else
            assert_good_message(files.v[i], err);
    }
    free_names(&files);

    /* Must pass (200), several with an exact round trip. */
    static const char *const accepted[] = {
        "posts/edge_01.json", "posts/edge_02.json", "posts/edge_03.json",
        "posts/edge_04.json", "posts/edge_08.json", "posts/edge_09.json",
        "posts/edge_10.json", "posts/edge_11.json", "posts/edge_12.json",
        "posts/edge_13.json", "posts/edge_14.json", "posts/edge_15.json",
    };
    for (size_t i = 0; i < sizeof accepted / sizeof *accepted; i++) {
        struct grid_post post;
        char err[512] = "";
        size_t len;
        char *body = read_vector(accepted[i], &len);
        if (grid_validate_post(body, len, NULL, &post, err, sizeof err) != 0)
            fail_msg("%s refused: %s", accepted[i], err);
        /* The body parsed independently (BOM skipped) gives equal columns. */
        size_t skip = len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        json_t *doc = json_loadb(body + skip, len - skip, 0, NULL);
        assert_non_null(doc);
        json_t *gd = json_loads(post.grid_data, 0, NULL);
        json_t *cc = json_loads(post.code_cells, 0, NULL);
        assert_true(json_equal(gd, json_object_get(doc, "grid_data")));
        assert_true(json_equal(cc, json_object_get(doc, "code_cells")));
        char *want = json_dumps(json_object_get(doc, "grid_data"), JSON_COMPACT);
        assert_string_equal(post.grid_data, want);
        free(want);
        json_decref(gd);
        json_decref(cc);
        json_decref(doc);
        free(body);
        grid_post_free(&post);
    }

    /* Refused: PostgreSQL's jsonb could not store them. */
    assert_refused("posts/edge_05.json", "body:");
    assert_refused("posts/edge_06.json", "body:");
    assert_refused("posts/edge_07.json", "body:");

    /* Specifics: the emoji and raw UTF-8 come out as UTF-8, not escaped. */
    struct grid_post post;
    char err[512];
    assert_int_equal(validate_file("posts/edge_08.json", &post, err, sizeof err), 0);
    assert_non_null(strstr(post.code_cells, "grid\xF0\x9F\x98\x80[1, 1]"));
    grid_post_free(&post);
    assert_int_equal(validate_file("posts/edge_03.json", &post, err, sizeof err), 0);
    assert_false(post.secret);
    grid_post_free(&post);
    assert_int_equal(validate_file("posts/edge_13.json", &post, err, sizeof err), 0);
    assert_string_equal(post.code_cells, "[\"\",\"grid\"]");
    grid_post_free(&post);
    assert_int_equal(validate_file("posts/edge_15.json", &post, err, sizeof err), 0);
    assert_null(strstr(post.grid_data, "-0"));
    grid_post_free(&post);
}

#define POST_HEAD \
    "{\"python_version\": [3, 11, 7, \"final\", 0], \"ipb_version\": \"1.10.dev\", " \
    "\"ipb_class\": \"BlockGrid\", \"code_cells\": null, \"secret\": false, "

/* The stored columns: compact, key order as sent, extra keys kept. */
static void test_posts_columns(void **state)
{
    (void)state;
    const char *body = POST_HEAD
        "\"grid_data\": {\"z\": 1, \"lines_on\": true, \"width\": 2, \"height\": 1, "
        "\"blocks\": [[[1, 2, 3, 4], [255, 0, 0, 1000]]], \"a\": {\"\\u00e9\": \"x\"}}}";
    struct grid_post post;
    char err[256];
    assert_int_equal(grid_validate_post(body, strlen(body), NULL, &post, err, sizeof err), 0);
    assert_string_equal(post.grid_data,
                        "{\"z\":1,\"lines_on\":true,\"width\":2,\"height\":1,"
                        "\"blocks\":[[[1,2,3,4],[255,0,0,1000]]],\"a\":{\"\xC3\xA9\":\"x\"}}");
    assert_string_equal(post.python_version, "[3,11,7,\"final\",0]");
    assert_string_equal(post.ipb_version, "1.10.dev");
    assert_string_equal(post.ipb_class, "BlockGrid");
    assert_null(post.code_cells);
    grid_post_free(&post);
}

static void test_posts_limits(void **state)
{
    (void)state;
    char err[256];
    const char *two_by_two = POST_HEAD
        "\"grid_data\": {\"lines_on\": true, \"width\": 2, \"height\": 2, "
        "\"blocks\": [[[1, 2, 3, 4], [1, 2, 3, 4]], [[1, 2, 3, 4], [1, 2, 3, 4]]]}}";
    assert_int_equal(validate_str(two_by_two, 4, err, sizeof err), 0);
    assert_int_equal(validate_str(two_by_two, 3, err, sizeof err), -1);
    assert_good_message("max_cells 3", err);
    assert_non_null(strstr(err, "3"));
    assert_int_equal(validate_str(two_by_two, 0, err, sizeof err), 0); /* default */

    /* width x height would overflow 64 bits: refused, not wrapped. */
    const char *huge = POST_HEAD
        "\"grid_data\": {\"lines_on\": true, \"width\": 4611686018427387904, "
        "\"height\": 4611686018427387904, \"blocks\": [[[1, 2, 3, 4]]]}}";
    assert_int_equal(validate_str(huge, GRID_DEFAULT_MAX_CELLS, err, sizeof err), -1);
    assert_good_message("huge", err);
    assert_int_equal(validate_str(huge, LLONG_MAX, err, sizeof err), -1);

    /* 500 x 500 = the default limit exactly: the size is allowed (fails on
     * blocks); 501 x 500 is over it. */
    const char *at = POST_HEAD
        "\"grid_data\": {\"lines_on\": true, \"width\": 500, \"height\": 500, "
        "\"blocks\": [[[1, 2, 3, 4]]]}}";
    assert_int_equal(validate_str(at, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "grid_data.blocks"));
    const char *over = POST_HEAD
        "\"grid_data\": {\"lines_on\": true, \"width\": 501, \"height\": 500, "
        "\"blocks\": [[[1, 2, 3, 4]]]}}";
    assert_int_equal(validate_str(over, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "grid_data: width x height"));
}

/* Bytes the vectors do not cover. */
static void test_posts_bytes(void **state)
{
    (void)state;
    char err[256];
    struct grid_post post;
    const char *ok = POST_HEAD
        "\"grid_data\": {\"lines_on\": false, \"width\": 1, \"height\": 1, "
        "\"blocks\": [[[0, 0, 0, 1]]]}}";
    size_t len = strlen(ok);

    /* Not NUL-terminated: only len bytes are read. */
    char *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, ok, len);
    assert_int_equal(grid_validate_post(copy, len, NULL, &post, err, sizeof err), 0);
    grid_post_free(&post);
    assert_int_equal(grid_validate_post(copy, len - 1, NULL, &post, err, sizeof err), -1);
    assert_good_message("truncated", err);
    free(copy);

    /* A NUL byte anywhere is refused. */
    char *nul = malloc(len + 1);
    assert_non_null(nul);
    memcpy(nul, ok, len);
    nul[len] = '\0';
    assert_int_equal(grid_validate_post(nul, len + 1, NULL, &post, err, sizeof err), -1);
    assert_good_message("NUL", err);
    free(nul);

    /* UTF-16, either byte order, with a BOM. */
    assert_int_equal(grid_validate_post("\xFE\xFF\0{\0}", 6, NULL, &post, err, sizeof err), -1);
    assert_non_null(strstr(err, "UTF-16"));
    assert_int_equal(grid_validate_post("\xFF\xFE{\0}\0", 6, NULL, &post, err, sizeof err), -1);
    assert_non_null(strstr(err, "UTF-16"));

    /* A raw \u0000 key and NULL/empty bodies. */
    assert_int_equal(validate_str("{\"a\\u0000\": 1}", 0, err, sizeof err), -1);
    assert_int_equal(grid_validate_post(NULL, 0, NULL, &post, err, sizeof err), -1);
    assert_good_message("NULL body", err);
    assert_int_equal(validate_str("   ", 0, err, sizeof err), -1);
    assert_good_message("blank body", err);

    /* A tiny error buffer still works and stays terminated. */
    char small[8];
    assert_int_equal(validate_str("[]", 0, small, sizeof small), -1);
    assert_true(strlen(small) < sizeof small);

    /* Booleans are not integers; 1.0 is not an integer; -0 is. */
    const char *b = POST_HEAD
        "\"grid_data\": {\"lines_on\": true, \"width\": 1, \"height\": 1, "
        "\"blocks\": [[[0, true, 0, 1]]]}}";
    assert_int_equal(validate_str(b, 0, err, sizeof err), -1);
    const char *neg0 = POST_HEAD
        "\"grid_data\": {\"lines_on\": true, \"width\": 1, \"height\": 1, "
        "\"blocks\": [[[-0, 0, 0, 1]]]}}";
    assert_int_equal(validate_str(neg0, 0, err, sizeof err), 0);

    /* ipb_version: anchored, digits.digits. */
    const char *vers[] = {"1.9", "10.20.x", "1.9junk"};
    const char *bad_vers[] = {"v1.9", "1.", ".9", "1x9", " 1.9", "\\u0661.\\u0662"};
    char doc[512];
    for (size_t i = 0; i < 3; i++) {
        snprintf(doc, sizeof doc,
                 "{\"python_version\": [1,2,3,4,5], \"ipb_version\": \"%s\", "
                 "\"ipb_class\": \"ImageGrid\", \"code_cells\": [\"x\"], \"secret\": true, "
                 "\"grid_data\": {\"lines_on\": true, \"width\": 1, \"height\": 1, "
                 "\"blocks\": [[[0, 0, 0, 1]]]}}", vers[i]);
        assert_int_equal(validate_str(doc, 0, err, sizeof err), 0);
    }
    for (size_t i = 0; i < 6; i++) {
        snprintf(doc, sizeof doc,
                 "{\"python_version\": [1,2,3,4,5], \"ipb_version\": \"%s\", "
                 "\"ipb_class\": \"ImageGrid\", \"code_cells\": [\"x\"], \"secret\": true, "
                 "\"grid_data\": {\"lines_on\": true, \"width\": 1, \"height\": 1, "
                 "\"blocks\": [[[0, 0, 0, 1]]]}}", bad_vers[i]);
        assert_int_equal(validate_str(doc, 0, err, sizeof err), -1);
        assert_non_null(strstr(err, "ipb_version:"));
    }
}

/* ---- rendering ----------------------------------------------------------- */

/* Replaces every "{ID}" in s by id; malloc'd. */
static char *replace_id(const char *s, const char *id)
{
    struct buf b = BUF_INIT;
    const char *p;
    while ((p = strstr(s, "{ID}"))) {
        buf_append(&b, s, (size_t)(p - s));
        buf_puts(&b, id);
        s = p + 4;
    }
    buf_puts(&b, s);
    assert_false(buf_failed(&b));
    return buf_steal(&b);
}

static void test_render_vectors(void **state)
{
    (void)state;
    struct names files = list_vectors("render", "grid_", ".json");
    assert_true(files.n > 0);
    for (size_t i = 0; i < files.n; i++) {
        size_t jlen, hlen;
        char *json = read_vector(files.v[i], &jlen);
        char html_name[256];
        snprintf(html_name, sizeof html_name, "%.*s.html",
                 (int)(strlen(files.v[i]) - 5), files.v[i]);
        char *html = read_vector(html_name, &hlen);
        char *want = replace_id(html, "3f2a-b_9");

        struct buf out = BUF_INIT;
        buf_puts(&out, "before|");
        char err[256] = "";
        if (grid_render_html(&out, json, jlen, "3f2a-b_9", err, sizeof err) != 0)
            fail_msg("%s: %s", files.v[i], err);
        assert_memory_equal(out.data, "before|", 7);
        if (strcmp(out.data + 7, want) != 0)
            fail_msg("%s: markup differs", files.v[i]);
        buf_free(&out);
        free(want);
        free(html);
        free(json);
    }
    free_names(&files);
}

/* Renders s; on failure checks the buffer is untouched and the message sane. */
static int render_str(const char *s, size_t len, struct buf *out)
{
    char err[256] = "";
    size_t before = out->len;
    int rc = grid_render_html(out, s, len, "x", err, sizeof err);
    if (rc != 0) {
        assert_int_equal(out->len, before);
        assert_true(err[0] != '\0');
        assert_null(strchr(err, '\n'));
    }
    return rc;
}

static void test_render_clamps(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    const char *g = "{\"lines_on\": true, \"width\": 2, \"height\": 1, "
                    "\"blocks\": [[[300, -5, 18446744073709551616, 0], [1, 2, 3, 20.0]]]}";
    assert_int_equal(render_str(g, strlen(g), &out), 0);
    assert_non_null(strstr(out.data, "title=\"Index: [0, 0]&#10;Color: (255, 0, 255)\" "
                                     "style=\"width: 1px; height: 1px;"
                                     "background-color: rgb(255, 0, 255);\""));
    assert_non_null(strstr(out.data, "width: 20px; height: 20px;"));
    buf_reset(&out);

    /* Later rows may be longer (extras ignored, as the client did). */
    const char *longer = "{\"lines_on\": false, \"width\": 1, \"height\": 2, "
                         "\"blocks\": [[[1, 2, 3, 4]], [[1, 2, 3, 4], [9, 9, 9, 9]]]}";
    assert_int_equal(render_str(longer, strlen(longer), &out), 0);
    assert_null(strstr(out.data, "9, 9, 9"));
    buf_free(&out);
}

/* Grids that are not drawable; the strict_* shape files among them. */
static void test_render_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "null", "[]", "42", "\"x\"", "{}", "{\"blocks\": []}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": null}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": []}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[]]}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3]]]}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, \"4\"]]]}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, true]]]}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, 1048577]]]}",
        "{\"lines_on\": 2, \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, 4]]]}",
        "{\"lines_on\": null, \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, 4]]]}",
        "{\"lines_on\": 0.5, \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, 4]]]}",
        "{\"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, 4]]]}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[null, 2, 3, 4]]]}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, 4], [1, 2, 3, 4]]]}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, 1e400]]]}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[{}]]}",
        "{\"lines_on\": true, \"width\": 0, \"height\": 1, \"blocks\": [[]]}",
        "{\"lines_on\": true, \"width\": 1e30, \"height\": 1, \"blocks\": [[[1, 2, 3, 4]]]}",
        ("{\"lines_on\": true, \"width\": 18446744073709551616, \"height\": 1, "
         "\"blocks\": [[[1, 2, 3, 4]]]}"),
        "{\"lines_on\": \"yes\", \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, 4]]]}",
        "{\"lines_on\": true, \"width\": 2, \"height\": 1, \"blocks\": [[[1, 2, 3, 4]]]}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 2, \"blocks\": [[[1, 2, 3, 4]], []]}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, 4]]]} x",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, NaN]]]}",
    };
    struct buf out = BUF_INIT;
    buf_puts(&out, "keep");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (render_str(bad[i], strlen(bad[i]), &out) != -1)
            fail_msg("drawn: %s", bad[i]);
    assert_string_equal(out.data, "keep");

    /* The shape mismatches of strict_01..05, 16..18 (grid_data as stored). */
    static const char *const shapes[] = {
        "posts/strict_01.json", "posts/strict_02.json", "posts/strict_03.json",
        "posts/strict_04.json", "posts/strict_05.json", "posts/strict_16.json",
        "posts/strict_17.json", "posts/strict_18.json",
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        size_t len;
        char *body = read_vector(shapes[i], &len);
        /* Integers beyond 64 bits: read them as reals to get at grid_data. */
        json_t *doc = json_loadb(body, len, JSON_DECODE_INT_AS_REAL, NULL);
        assert_non_null(doc);
        char *gd = json_dumps(json_object_get(doc, "grid_data"), JSON_COMPACT);
        assert_non_null(gd);
        if (render_str(gd, strlen(gd), &out) != -1)
            fail_msg("drawn: grid_data of %s", shapes[i]);
        free(gd);
        json_decref(doc);
        free(body);
    }
    /* strict_06 (a long second row) and 07..11 (colours, sizes) draw;
     * strict_12 (a block 2^63 pixels wide) is over GRID_MAX_BLOCK_SIZE. */
    for (int k = 6; k <= 12; k++) {
        char name[64];
        snprintf(name, sizeof name, "posts/strict_%02d.json", k);
        size_t len;
        char *body = read_vector(name, &len);
        json_t *doc = json_loadb(body, len, 0, NULL);
        if (!doc) /* 2^64: kept as text, the renderer copes */
            doc = json_loadb(body, len, JSON_DECODE_INT_AS_REAL, NULL);
        assert_non_null(doc);
        char *gd = json_dumps(json_object_get(doc, "grid_data"), JSON_COMPACT);
        buf_reset(&out);
        if (render_str(gd, strlen(gd), &out) != (k == 12 ? -1 : 0))
            fail_msg("wrong verdict on the grid_data of %s", name);
        free(gd);
        json_decref(doc);
        free(body);
    }
    buf_free(&out);
}

static unsigned next_random(unsigned long long *seed)
{
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(*seed >> 33);
}

/* Random bytes, random mutations of a good grid, deep nesting: -1 or a
 * drawing, never a crash (the sanitizer build watches). */
static void test_render_garbage(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    unsigned long long seed = 0x9e3779b97f4a7c15ULL;
#define NEXT() next_random(&seed)
    char bytes[512];
    for (int i = 0; i < 2000; i++) {
        size_t n = NEXT() % sizeof bytes;
        for (size_t k = 0; k < n; k++)
            bytes[k] = (char)NEXT();
        render_str(bytes, n, &out);
        buf_reset(&out);
    }
    const char *good = "{\"lines_on\": true, \"width\": 2, \"height\": 2, \"blocks\": "
                       "[[[1, 2, 3, 4], [5, 6, 7, 8]], [[9, 10, 11, 12], [13, 14, 15, 16]]]}";
    size_t glen = strlen(good);
    static const char alphabet[] = "[]{}\",:0123456789-.eE truefalsnl\\";
    for (int i = 0; i < 20000; i++) {
        memcpy(bytes, good, glen);
        int edits = 1 + NEXT() % 4;
        for (int k = 0; k < edits; k++)
            bytes[NEXT() % glen] = alphabet[NEXT() % (sizeof alphabet - 1)];
        render_str(bytes, glen, &out);
        buf_reset(&out);
    }

    /* Nested 100,000 deep, as an array and inside blocks. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 128);
    assert_non_null(deep);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    assert_int_equal(render_str(deep, 2 * depth, &out), -1);
    int n = sprintf(deep, "{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": ");
    memset(deep + n, '[', depth);
    memset(deep + n + depth, ']', depth);
    deep[n + 2 * depth] = '}';
    assert_int_equal(render_str(deep, (size_t)n + 2 * depth + 1, &out), -1);

    /* The same to the validator. */
    struct grid_post post;
    char err[256];
    assert_int_equal(grid_validate_post(deep, (size_t)n + 2 * depth + 1, NULL, &post, err,
                                        sizeof err), -1);
    assert_good_message("deep", err);
    free(deep);

    /* Huge numbers everywhere. */
    static const char *const huge[] = {
        "{\"lines_on\": true, \"width\": 1e308, \"height\": 1e308, \"blocks\": [[[1,2,3,4]]]}",
        "{\"lines_on\": true, \"width\": -9223372036854775808, \"height\": 1, "
        "\"blocks\": [[[1,2,3,4]]]}",
        "{\"lines_on\": true, \"width\": 9223372036854775807, \"height\": 9223372036854775807,"
        " \"blocks\": [[[1,2,3,4]]]}",
        "{\"lines_on\": true, \"width\": 1, \"height\": 1, "
        "\"blocks\": [[[-1e300, 1e300, 99999999999999999999999, 9223372036854775807]]]}",
    };
    for (size_t i = 0; i < sizeof huge / sizeof *huge; i++)
        render_str(huge[i], strlen(huge[i]), &out);
    buf_reset(&out);
    /* A size over GRID_MAX_BLOCK_SIZE is refused; the largest one is drawn. */
    assert_int_equal(render_str(huge[3], strlen(huge[3]), &out), -1);
    const char *largest = "{\"lines_on\": true, \"width\": 1, \"height\": 1, "
        "\"blocks\": [[[-1e300, 1e300, 99999999999999999999999, 1048576]]]}";
    assert_int_equal(render_str(largest, strlen(largest), &out), 0);
    assert_non_null(strstr(out.data, "(0, 255, 255)"));
    assert_non_null(strstr(out.data, "width: 1048576px"));

    /* A long first row over many short rows: refused, and no giant
     * reservation has left the buffer marked out of memory. */
    struct buf big = BUF_INIT;
    size_t rows = 100000, cols = 2000;
    buf_printf(&big, "{\"lines_on\": true, \"width\": %zu, \"height\": %zu, \"blocks\": [[",
               cols, rows);
    for (size_t i = 0; i < cols; i++)
        buf_puts(&big, i ? ",[1,2,3,4]" : "[1,2,3,4]");
    buf_puts(&big, "]");
    for (size_t i = 1; i < rows; i++)
        buf_puts(&big, ",[]");
    buf_puts(&big, "]}");
    assert_false(buf_failed(&big));
    buf_reset(&out);
    assert_int_equal(render_str(big.data, big.len, &out), -1);
    assert_false(buf_failed(&out));
    buf_free(&big);

    /* A bad dom_id is refused rather than pasted into the markup. */
    char e2[128];
    assert_int_equal(grid_render_html(&out, good, glen, "a\"b", e2, sizeof e2), -1);
    assert_int_equal(grid_render_html(&out, good, glen, NULL, e2, sizeof e2), -1);
    buf_free(&out);
#undef NEXT
}

/* Repeated use of the largest valid post (no state carried between calls);
 * prints the time per call for information only: timings are never asserted
 * in tests (the benchmarks under bench/ measure speed). */
/* ---- validation on many threads at once ------------------------------------
 * grid_validate_post runs jansson on a per-thread arena (grid.c). Whatever the
 * interleaving, every thread must get exactly what one thread alone gets, and
 * the grid_data column must equal jansson's own json_dumps of the body's
 * grid_data made with plain malloc. Meanwhile other threads use jansson the
 * ordinary way (json_loads, json_dumps freed with free(), deep copies), as
 * page.c, migrate and backup do; under AddressSanitizer a pointer of an arena
 * reaching free(), or a value of one thread's arena dying under another, would
 * show. valid_19 (100x100) is larger than an arena: the malloc fallback runs. */

struct outcome {
    int rc;
    char err[512];
    struct grid_post post;
};

struct mt_corpus {
    size_t n;
    char **body;
    size_t *len;
    struct outcome *ref;
    char **plain_grid_data;      /* json_dumps of the body's grid_data, or NULL */
};

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_outcome(const struct outcome *a, const struct outcome *b)
{
    if (a->rc != b->rc || strcmp(a->err, b->err) != 0)
        return 0;
    if (a->rc != 0)
        return 1;
    return same_str(a->post.ipb_version, b->post.ipb_version) &&
           same_str(a->post.python_version, b->post.python_version) &&
           same_str(a->post.grid_data, b->post.grid_data) &&
           same_str(a->post.code_cells, b->post.code_cells) &&
           same_str(a->post.ipb_class, b->post.ipb_class) &&
           a->post.secret == b->post.secret;
}

struct mt_worker {
    const struct mt_corpus *c;
    int kind;                    /* 0: validates, 1: other jansson use */
    unsigned seed;
    int mismatches;
};

static void *mt_validate(void *arg)
{
    struct mt_worker *w = arg;
    const struct mt_corpus *c = w->c;
    for (int round = 0; round < 6; round++) {
        for (size_t k = 0; k < c->n; k++) {
            size_t i = (k * 7 + w->seed + (size_t)round) % c->n;
            struct outcome o;
            memset(&o, 0, sizeof o);
            o.rc = grid_validate_post(c->body[i], c->len[i], NULL, &o.post, o.err,
                                      sizeof o.err);
            if (!same_outcome(&o, &c->ref[i]))
                w->mismatches++;
            grid_post_free(&o.post);
        }
    }
    return NULL;
}

static void *mt_other(void *arg)
{
    struct mt_worker *w = arg;
    const struct mt_corpus *c = w->c;
    for (int round = 0; round < 6; round++) {
        for (size_t i = 0; i < c->n; i++) {
            if (!c->plain_grid_data[i])
                continue;
            size_t skip = c->len[i] >= 3 && memcmp(c->body[i], "\xEF\xBB\xBF", 3) == 0;
            json_t *root = json_loadb(c->body[i] + 3 * skip, c->len[i] - 3 * skip, 0, NULL);
            json_t *copy = json_deep_copy(json_object_get(root, "grid_data"));
            json_decref(root);
            char *text = json_dumps(copy, JSON_COMPACT);
            if (!text || strcmp(text, c->plain_grid_data[i]) != 0)
                w->mismatches++;
            free(text);
            json_decref(copy);
        }
    }
    return NULL;
}

static void test_posts_threads(void **state)
{
    (void)state;
    struct names names = list_vectors("posts", "", ".json");
    struct mt_corpus c = {0};
    c.n = names.n;
    c.body = calloc(c.n, sizeof *c.body);
    c.len = calloc(c.n, sizeof *c.len);
    c.ref = calloc(c.n, sizeof *c.ref);
    c.plain_grid_data = calloc(c.n, sizeof *c.plain_grid_data);
    assert_non_null(c.ref);
    size_t valid = 0, big = 0;
    for (size_t i = 0; i < c.n; i++) {
        c.body[i] = read_vector(names.v[i], &c.len[i]);
        c.ref[i].rc = grid_validate_post(c.body[i], c.len[i], NULL, &c.ref[i].post,
                                         c.ref[i].err, sizeof c.ref[i].err);
        if (c.ref[i].rc != 0)
            continue;
        valid++;
        big += strlen(c.ref[i].post.grid_data) > 100000;
        /* The same column computed with no arena in sight. */
        size_t skip = c.len[i] >= 3 && memcmp(c.body[i], "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        json_t *root = json_loadb(c.body[i] + skip, c.len[i] - skip, JSON_DECODE_ANY, NULL);
        assert_non_null(root);
        c.plain_grid_data[i] = json_dumps(json_object_get(root, "grid_data"), JSON_COMPACT);
        json_decref(root);
        if (!c.plain_grid_data[i] || strcmp(c.plain_grid_data[i], c.ref[i].post.grid_data))
            fail_msg("%s: grid_data differs from jansson's own dump", names.v[i]);
    }
    assert_true(valid >= 10);
    assert_true(big >= 1);

    enum { VALIDATORS = 8, OTHERS = 3 };
    pthread_t th[VALIDATORS + OTHERS];
    struct mt_worker w[VALIDATORS + OTHERS];
    for (int i = 0; i < VALIDATORS + OTHERS; i++) {
        w[i] = (struct mt_worker){&c, i >= VALIDATORS, (unsigned)i * 13, 0};
        assert_int_equal(pthread_create(&th[i], NULL,
                                        i < VALIDATORS ? mt_validate : mt_other, &w[i]), 0);
    }
    int mismatches = 0;
    for (int i = 0; i < VALIDATORS + OTHERS; i++) {
        pthread_join(th[i], NULL);
        mismatches += w[i].mismatches;
    }
    assert_int_equal(mismatches, 0);

    /* And the main thread, which validated before the others ran, still does. */
    for (size_t i = 0; i < c.n; i++) {
        struct outcome o;
        memset(&o, 0, sizeof o);
        o.rc = grid_validate_post(c.body[i], c.len[i], NULL, &o.post, o.err, sizeof o.err);
        assert_true(same_outcome(&o, &c.ref[i]));
        grid_post_free(&o.post);
        grid_post_free(&c.ref[i].post);
        free(c.plain_grid_data[i]);
        free(c.body[i]);
    }
    free(c.body);
    free(c.len);
    free(c.ref);
    free(c.plain_grid_data);
    free_names(&names);
}

static void test_speed(void **state)
{
    (void)state;
    size_t len;
    char *body = read_vector("posts/valid_19.json", &len);
    struct grid_post post;
    char err[256];
    struct buf out = BUF_INIT;
    clock_t t0 = clock();
    for (int i = 0; i < 200; i++) {
        assert_int_equal(grid_validate_post(body, len, NULL, &post, err, sizeof err), 0);
        if (i < 199)
            grid_post_free(&post);
    }
    clock_t t1 = clock();
    for (int i = 0; i < 200; i++) {
        buf_reset(&out);
        assert_int_equal(grid_render_html(&out, post.grid_data, strlen(post.grid_data),
                                          "id", err, sizeof err), 0);
    }
    clock_t t2 = clock();
    double v = (double)(t1 - t0) / CLOCKS_PER_SEC * 1000 / 200;
    double r = (double)(t2 - t1) / CLOCKS_PER_SEC * 1000 / 200;
    print_message("100x100: validate %.3f ms, render %.3f ms (%zu bytes)\n", v, r, out.len);
    grid_post_free(&post);
    buf_free(&out);
    free(body);
}

/* ---- the one reader of stored grids -------------------------------------- */

/* grid_read's rules for stored rows (grid.c), one row each: drawn (with what
 * the client would draw) or refused. */
struct stored_case {
    const char *json;
    int drawn;
    int lines;                   /* when drawn */
    int rgb[3], size;            /* of block [0][0], when drawn */
};

#define G1(lines_on, block) \
    "{\"lines_on\": " lines_on ", \"width\": 1, \"height\": 1, \"blocks\": [[" block "]]}"

static const struct stored_case stored_cases[] = {
    {G1("true", "[1, 2, 3, 4]"), 1, 1, {1, 2, 3}, 4},
    /* lines_on as the client's setter takes it: equal to 0 or 1 */
    {G1("1.0", "[1, 2, 3, 4]"), 1, 1, {1, 2, 3}, 4},
    {G1("1", "[1, 2, 3, 4]"), 1, 1, {1, 2, 3}, 4},
    {G1("0", "[1, 2, 3, 4]"), 1, 0, {1, 2, 3}, 4},
    {G1("0.0", "[1, 2, 3, 4]"), 1, 0, {1, 2, 3}, 4},
    {G1("false", "[1, 2, 3, 4]"), 1, 0, {1, 2, 3}, 4},
    {G1("\"x\"", "[1, 2, 3, 4]"), 0, 0, {0}, 0},
    {G1("null", "[1, 2, 3, 4]"), 0, 0, {0}, 0},
    {G1("2", "[1, 2, 3, 4]"), 0, 0, {0}, 0},
    {G1("-1", "[1, 2, 3, 4]"), 0, 0, {0}, 0},
    {G1("[]", "[1, 2, 3, 4]"), 0, 0, {0}, 0},
    /* colours: clamped, then rounded half to even (Python's round) */
    {G1("true", "[300, -5, 1e300, 4]"), 1, 1, {255, 0, 255}, 4},
    {G1("true", "[12.5, 13.5, 254.5, 4]"), 1, 1, {12, 14, 254}, 4},
    {G1("true", "[0.4, 255.6, -0.6, 4]"), 1, 1, {0, 255, 0}, 4},
    {G1("true", "[18446744073709551616, 2, 3, 4]"), 1, 1, {255, 2, 3}, 4},
    {G1("true", "[\"1\", 2, 3, 4]"), 0, 0, {0}, 0},
    {G1("true", "[null, 2, 3, 4]"), 0, 0, {0}, 0},
    {G1("true", "[1, false, 3, 4]"), 0, 0, {0}, 0},
    /* sizes: max(1, size), fractions rounded, at most GRID_MAX_BLOCK_SIZE */
    {G1("true", "[1, 2, 3, 0]"), 1, 1, {1, 2, 3}, 1},
    {G1("true", "[1, 2, 3, -7]"), 1, 1, {1, 2, 3}, 1},
    {G1("true", "[1, 2, 3, -9223372036854775808]"), 1, 1, {1, 2, 3}, 1},
    {G1("true", "[1, 2, 3, 2.5]"), 1, 1, {1, 2, 3}, 2},
    {G1("true", "[1, 2, 3, 3.5]"), 1, 1, {1, 2, 3}, 4},
    {G1("true", "[1, 2, 3, 0.2]"), 1, 1, {1, 2, 3}, 1},
    {G1("true", "[1, 2, 3, 5000]"), 1, 1, {1, 2, 3}, 5000},
    {G1("true", "[1, 2, 3, 1048576]"), 1, 1, {1, 2, 3}, 1048576},
    {G1("true", "[1, 2, 3, 1048577]"), 0, 0, {0}, 0},
    {G1("true", "[1, 2, 3, 1e300]"), 0, 0, {0}, 0},
    {G1("true", "[1, 2, 3, \"20\"]"), 0, 0, {0}, 0},
    {G1("true", "[1, 2, 3, null]"), 0, 0, {0}, 0},
    /* blocks: at least 4 numbers, extras ignored */
    {G1("true", "[1, 2, 3, 4, 5, \"x\"]"), 1, 1, {1, 2, 3}, 4},
    {G1("true", "[1, 2, 3]"), 0, 0, {0}, 0},
    {G1("true", "{}"), 0, 0, {0}, 0},
    /* shapes */
    {"{\"lines_on\": true, \"width\": 1.0, \"height\": 2.0, \"blocks\": "
     "[[[9, 8, 7, 6]], [[1, 2, 3, 4]]]}", 1, 1, {9, 8, 7}, 6},
    {"{\"lines_on\": true, \"width\": 1, \"height\": 2, \"blocks\": "
     "[[[9, 8, 7, 6]], [[1, 2, 3, 4], [5, 5, 5, 5]]]}", 1, 1, {9, 8, 7}, 6},
    {"{\"lines_on\": true, \"width\": 1, \"height\": 2, \"blocks\": "
     "[[[9, 8, 7, 6], [5, 5, 5, 5]], [[1, 2, 3, 4]]]}", 0, 0, {0}, 0},
    {"{\"lines_on\": true, \"width\": 2, \"height\": 2, \"blocks\": "
     "[[[9, 8, 7, 6], [5, 5, 5, 5]], [[1, 2, 3, 4]]]}", 0, 0, {0}, 0},
    {"{\"lines_on\": true, \"width\": 1, \"height\": 3, \"blocks\": "
     "[[[9, 8, 7, 6]], [[1, 2, 3, 4]]]}", 0, 0, {0}, 0},
    {"{\"lines_on\": true, \"width\": 1, \"height\": 1, \"blocks\": "
     "[[[9, 8, 7, 6]], [[1, 2, 3, 4]]]}", 0, 0, {0}, 0},
    {"{\"lines_on\": true, \"width\": 1.5, \"height\": 1, \"blocks\": [[[1, 2, 3, 4]]]}",
     0, 0, {0}, 0},
    {"{\"lines_on\": true, \"width\": 16777217, \"height\": 1, \"blocks\": [[[1, 2, 3, 4]]]}",
     0, 0, {0}, 0},
    /* extra keys, in any place */
    {"{\"title\": \"<b>\", \"blocks\": [[[1, 2, 3, 4]]], \"height\": 1, \"width\": 1, "
     "\"lines_on\": false, \"zz\": {}}", 1, 0, {1, 2, 3}, 4},
    /* missing keys, not objects, not JSON */
    {"{\"lines_on\": true, \"width\": 1, \"height\": 1}", 0, 0, {0}, 0},
    {"{\"width\": 1, \"height\": 1, \"blocks\": [[[1, 2, 3, 4]]]}", 0, 0, {0}, 0},
    {"{\"lines_on\": true, \"height\": 1, \"blocks\": [[[1, 2, 3, 4]]]}", 0, 0, {0}, 0},
    {"[]", 0, 0, {0}, 0},
    {"42", 0, 0, {0}, 0},
    {"\"grid\"", 0, 0, {0}, 0},
    {"null", 0, 0, {0}, 0},
    {"", 0, 0, {0}, 0},
    {"{not json", 0, 0, {0}, 0},
    {G1("true", "[1, 2, 3, 4]") " trailing", 0, 0, {0}, 0},
};

static void test_read_stored_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof stored_cases / sizeof *stored_cases; i++) {
        const struct stored_case *c = &stored_cases[i];
        struct grid g;
        char err[256] = "untouched";
        int rc = grid_read(c->json, strlen(c->json), &g, err, sizeof err);
        if (rc != (c->drawn ? 0 : -1))
            fail_msg("case %zu: grid_read gave %d for %s (%s)", i, rc, c->json, err);
        char err2[256];
        if (grid_read(c->json, strlen(c->json), NULL, err2, sizeof err2) != rc)
            fail_msg("case %zu: checking alone disagrees for %s", i, c->json);
        if (!c->drawn) {
            assert_null(g.blocks);
            assert_true(err[0] != '\0' && strcmp(err, "untouched") != 0);
            assert_null(strchr(err, '\n'));
            assert_string_equal(err, err2);
            continue;
        }
        assert_int_equal(g.lines, c->lines);
        for (int k = 0; k < 3; k++)
            if (g.blocks[0].rgb[k] != c->rgb[k])
                fail_msg("case %zu: colour %d is %d, expected %d (%s)", i, k,
                         g.blocks[0].rgb[k], c->rgb[k], c->json);
        assert_int_equal(g.blocks[0].size, c->size);
        /* The HTML shows what was read. */
        struct buf out = BUF_INIT;
        assert_int_equal(grid_draw_html(&out, &g, "x", err, sizeof err), 0);
        char want[160];
        snprintf(want, sizeof want, "Color: (%d, %d, %d)\" style=\"width: %dpx; height: %dpx;",
                 c->rgb[0], c->rgb[1], c->rgb[2], c->size, c->size);
        if (!strstr(out.data, want))
            fail_msg("case %zu: %s not in %s", i, want, out.data);
        assert_non_null(strstr(out.data, c->lines ? "border: 1px" : "border: 0px"));
        buf_free(&out);
        grid_free(&g);
        assert_null(g.blocks);
    }
    /* NULL text is refused, not a crash. */
    char err[64];
    struct grid g;
    assert_int_equal(grid_read(NULL, 0, &g, err, sizeof err), -1);
    assert_int_equal(grid_read(NULL, 0, NULL, NULL, 0), -1);
    grid_free(&g);
    grid_free(NULL);
}

/* The HTML and the PNG, and checking alone, reach the same verdict on every
 * row: the fixed cases, the strict_* posts as they would be stored, and
 * random mutations of a good grid. */
static void test_read_html_png_agree(void **state)
{
    (void)state;
    unsigned long long seed = 0x243f6a8885a308d3ULL;
    const char *good = "{\"lines_on\": true, \"width\": 2, \"height\": 2, \"blocks\": "
                       "[[[1, 2, 3, 4], [5, 6, 7, 8]], [[9, 10, 11, 12], [13, 14, 15, 16]]]}";
    size_t glen = strlen(good);
    static const char alphabet[] = "[]{}\",:0123456789-.eE truefalsnl\\";
    char bytes[256];
    size_t cases = sizeof stored_cases / sizeof *stored_cases;
    int drawn = 0, refused = 0;
    for (size_t i = 0; i < cases + 5000; i++) {
        const char *json;
        size_t len;
        if (i < cases) {
            json = stored_cases[i].json;
            len = strlen(json);
        } else {
            memcpy(bytes, good, glen);
            int edits = 1 + (int)(next_random(&seed) % 3);
            for (int k = 0; k < edits; k++)
                bytes[next_random(&seed) % glen] =
                    alphabet[next_random(&seed) % (sizeof alphabet - 1)];
            json = bytes;
            len = glen;
        }
        char err[256];
        struct buf html = BUF_INIT, png = BUF_INIT;
        int a = grid_read(json, len, NULL, err, sizeof err);
        int b = grid_render_html(&html, json, len, "x", err, sizeof err);
        int c = image_render_png(&png, json, len, err, sizeof err);
        unsigned w, h;
        int d = image_size(json, len, &w, &h);
        if (a != b || b != c || c != d)
            fail_msg("disagree (check %d, html %d, png %d, size %d) on %.*s", a, b, c, d,
                     (int)len, json);
        if (a == 0)
            drawn++;
        else
            refused++;
        buf_free(&html);
        buf_free(&png);
    }
    assert_true(drawn > 100 && refused > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posts_valid),
        cmocka_unit_test(test_posts_invalid),
        cmocka_unit_test(test_posts_strict),
        cmocka_unit_test(test_posts_messages),
        cmocka_unit_test(test_posts_edge),
        cmocka_unit_test(test_posts_columns),
        cmocka_unit_test(test_posts_limits),
        cmocka_unit_test(test_posts_bytes),
        cmocka_unit_test(test_posts_threads),
        cmocka_unit_test(test_render_vectors),
        cmocka_unit_test(test_render_clamps),
        cmocka_unit_test(test_render_refuses),
        cmocka_unit_test(test_render_garbage),
        cmocka_unit_test(test_read_stored_rules),
        cmocka_unit_test(test_read_html_png_agree),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
