/* fuzz_oembed.c -- the query values of GET /oembed and GET /gallery:
 * embed_match_url (url= against the site's base), embed_parse_side
 * (maxwidth=, maxheight=), gallery_parse_before (before=), and the frame size
 * and JSON answer built from them.
 *
 * Input: up to four NUL-separated fields -- base, url, a maximum, a before
 * value -- any bytes. Properties: nothing crashes; a URL is only ever taken
 * as a grid of the site when its scheme is http or https and its host[:port]
 * is the base's (ignoring case), and the hash it yields is non-empty, fits its
 * buffer and holds no '/', '?' or '#'; an accepted maximum or before= is in
 * range and is exactly the decimal text given; the frame is never larger than
 * the maxima asked; an oEmbed answer for the yielded hash is valid JSON or a
 * clean refusal. No seeds are needed beyond an empty corpus. */
#include "fuzz.h"

#include <jansson.h>
#include <strings.h>

#include "embed.h"
#include "gallery.h"
#include "image.h"

static const char *authority(const char *s, size_t *len)
{
    const char *p = !strncasecmp(s, "http://", 7) ? s + 7 : !strncasecmp(s, "https://", 8) ? s + 8 : NULL;
    if (p)
        *len = strcspn(p, "/?#");
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *field[4] = {"http://127.0.0.1:8000", "", NULL, NULL};
    size_t n = 0;
    for (char *p = buf; n < 4 && p <= buf + size; n++) {
        field[n] = p;
        p += strlen(p) + 1;
    }

    bool secret = true;
    char hash[HASHID_MAX_LEN];
    enum embed_match m = embed_match_url(field[0], field[1], &secret, hash, sizeof hash);
    FUZZ_CHECK(m == EMBED_URL_GRID || m == EMBED_URL_OTHER_SITE || m == EMBED_URL_NOT_GRID);
    if (m == EMBED_URL_GRID) {
        size_t blen = 0, ulen = 0;
        const char *ba = authority(field[0], &blen), *ua = authority(field[1], &ulen);
        FUZZ_CHECK(ba && ua && blen == ulen && strncasecmp(ba, ua, blen) == 0);
        size_t hl = strlen(hash);
        FUZZ_CHECK(hl > 0 && hl < sizeof hash && !strpbrk(hash, "/?#"));
    } else {
        FUZZ_CHECK(!secret);
    }

    unsigned side = 1;
    if (embed_parse_side(field[2], &side) == 0 && field[2]) {
        char back[16];
        snprintf(back, sizeof back, "%u", side);
        FUZZ_CHECK(side >= EMBED_MIN_SIDE && side <= EMBED_MAX_SIDE && !strcmp(back, field[2]));
    }
    int64_t before = -1;
    if (gallery_parse_before(field[3], &before) == 0 && field[3]) {
        char back[32];
        snprintf(back, sizeof back, "%lld", (long long)before);
        FUZZ_CHECK(before >= 1 && !strcmp(back, field[3]));
    }

    /* Sizes from the input's first bytes, within what image_size can give. */
    unsigned iw = 0, ih = 0;
    if (size >= 4) {
        iw = (unsigned)(data[0] << 8 | data[1]) % (IMAGE_MAX_SIDE + 1);
        ih = (unsigned)(data[2] << 8 | data[3]) % (IMAGE_MAX_SIDE + 1);
    }
    unsigned mw = side >= EMBED_MIN_SIDE ? side : 0, mh = mw ? EMBED_MIN_SIDE + mw % 97 : 0;
    unsigned w = 0, h = 0;
    embed_frame_size(iw && ih ? iw : 0, iw && ih ? ih : 0, mw, mh, &w, &h);
    FUZZ_CHECK(w >= 1 && h > EMBED_CAPTION);
    FUZZ_CHECK(!mw || w <= mw);
    FUZZ_CHECK(!mh || h <= mh);

    if (m == EMBED_URL_GRID) {
        struct embed_oembed e = {.base = field[0], .hash = hash, .secret = secret,
                                 .provider = "ipborg", .width = w, .height = h,
                                 .thumb_w = 160, .thumb_h = 160};
        struct buf out = BUF_INIT;
        if (embed_oembed_json(&out, &e) == 0) {
            json_error_t err;
            json_t *doc = json_loads(out.data, 0, &err);
            FUZZ_CHECK(doc != NULL);
            const char *html = json_string_value(json_object_get(doc, "html"));
            FUZZ_CHECK(html && !strncmp(html, "<iframe src=\"", 13));
            /* The only '"' in the html are the attributes' own: 12 of them. */
            size_t quotes = 0;
            for (const char *p = html; *p; p++)
                quotes += *p == '"';
            FUZZ_CHECK(quotes == 12);
            json_decref(doc);
        }
        buf_free(&out);
    }
    free(buf);
    return 0;
}
