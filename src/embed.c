/* embed.c -- oEmbed for grids: which URLs name a grid of this site, how large
 * the frame is, and the JSON answer (embed.h).
 *
 * Invariants: embed_match_url never accepts a URL whose scheme is not http
 * or https or whose host differs from the site's, so an oEmbed answer only
 * ever describes this site's grids; the html of the answer is built from the
 * site's base, a hash the caller checked to be canonical and two numbers,
 * every one of them escaped for an HTML attribute, and the whole document is
 * written by jansson, so no value can break out of its JSON string. */
#include "embed.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Skips "http://" or "https://" (any case); NULL for any other scheme. */
static const char *after_scheme(const char *url)
{
    if (!strncasecmp(url, "http://", 7))
        return url + 7;
    if (!strncasecmp(url, "https://", 8))
        return url + 8;
    return NULL;
}

enum embed_match embed_match_url(const char *base, const char *url, bool *secret,
                                 char *hash, size_t hashsize)
{
    *secret = false;
    if (hashsize)
        hash[0] = '\0';
    const char *b = base ? after_scheme(base) : NULL;
    const char *u = url ? after_scheme(url) : NULL;
    if (!b || !u)
        return EMBED_URL_OTHER_SITE;
    /* The authority (host[:port]) ends at the first '/', '?' or '#'. */
    size_t bauth = strcspn(b, "/?#"), uauth = strcspn(u, "/?#");
    if (bauth == 0 || bauth != uauth || strncasecmp(b, u, bauth) != 0)
        return EMBED_URL_OTHER_SITE;
    /* The base's path (a prefix, when the site lives below one) must follow. */
    const char *bpath = b + bauth, *upath = u + uauth;
    size_t bplen = strlen(bpath);
    while (bplen && bpath[bplen - 1] == '/')
        bplen--;
    if (strncmp(upath, bpath, bplen) != 0)
        return EMBED_URL_OTHER_SITE;
    upath += bplen;
    size_t plen = strcspn(upath, "?#");
    while (plen > 1 && upath[plen - 1] == '/')
        plen--;
    if (plen < 2 || upath[0] != '/')
        return EMBED_URL_NOT_GRID;
    /* Segments: [embed/][secret/]HASH */
    const char *p = upath + 1, *end = upath + plen;
    if ((size_t)(end - p) > 6 && !strncmp(p, "embed/", 6))
        p += 6;
    if ((size_t)(end - p) > 7 && !strncmp(p, "secret/", 7)) {
        p += 7;
        *secret = true;
    }
    size_t hlen = (size_t)(end - p);
    if (hlen == 0 || hlen >= hashsize || memchr(p, '/', hlen)) {
        *secret = false;
        return EMBED_URL_NOT_GRID;
    }
    memcpy(hash, p, hlen);
    hash[hlen] = '\0';
    return EMBED_URL_GRID;
}

int embed_parse_side(const char *text, unsigned *side)
{
    if (!text) {
        *side = 0;
        return 0;
    }
    size_t n = strlen(text);
    if (n == 0 || n > 6 || text[0] == '0')
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(text[i] - '0');
    }
    if (v < EMBED_MIN_SIDE || v > EMBED_MAX_SIDE)
        return -1;
    *side = v;
    return 0;
}

void embed_frame_size(unsigned img_w, unsigned img_h, unsigned maxwidth,
                      unsigned maxheight, unsigned *w, unsigned *h)
{
    /* The box the grid may fill: EMBED_DEFAULT_MAX square, narrowed by the
     * asked maxima (which leave at least EMBED_MIN_SIDE - EMBED_CAPTION for
     * the grid itself). */
    uint64_t box_w = EMBED_DEFAULT_MAX, box_h = EMBED_DEFAULT_MAX;
    if (maxwidth && maxwidth < box_w)
        box_w = maxwidth;
    if (maxheight && maxheight - EMBED_CAPTION < box_h)
        box_h = maxheight - EMBED_CAPTION;
    if (img_w == 0 || img_h == 0) {
        /* Not drawable: a frame for the one-line message. */
        *w = (unsigned)(box_w < 320 ? box_w : 320);
        *h = (unsigned)(box_h < 64 ? box_h : 64) + EMBED_CAPTION;
        return;
    }
    uint64_t gw = img_w, gh = img_h;
    /* Scale by min(1, box_w / img_w, box_h / img_h), in integers. */
    if (gw > box_w) {
        gh = gh * box_w / gw;
        gw = box_w;
    }
    if (gh > box_h) {
        gw = gw * box_h / gh;
        gh = box_h;
    }
    uint64_t min_w = box_w < EMBED_MIN_WIDTH ? box_w : EMBED_MIN_WIDTH;
    *w = (unsigned)(gw > min_w ? gw : min_w);
    *h = (unsigned)(gh ? gh : 1) + EMBED_CAPTION;
}

void embed_thumb_size(unsigned img_w, unsigned img_h, unsigned side, unsigned *w,
                      unsigned *h)
{
    uint64_t longest = img_w > img_h ? img_w : img_h;
    if (!longest) {
        *w = *h = 0;
        return;
    }
    uint64_t tw = (uint64_t)img_w * side / longest, th = (uint64_t)img_h * side / longest;
    *w = (unsigned)(tw ? tw : 1);
    *h = (unsigned)(th ? th : 1);
}

/* Appends s escaped for a double-quoted HTML attribute. */
static void attr(struct buf *out, const char *s)
{
    buf_html_escape(out, s, strlen(s));
}

void embed_iframe_html(struct buf *out, const char *base, const char *hash, bool secret,
                       unsigned width, unsigned height)
{
    buf_puts(out, "<iframe src=\"");
    attr(out, base);
    buf_puts(out, secret ? "/embed/secret/" : "/embed/");
    attr(out, hash);
    buf_printf(out, "\" width=\"%u\" height=\"%u\" title=\"Grid ", width, height);
    attr(out, hash);
    buf_puts(out, "\" style=\"border: 0\" loading=\"lazy\"></iframe>");
}

int embed_oembed_json(struct buf *out, const struct embed_oembed *e)
{
    const char *kind = e->secret ? "/secret/" : "/";
    struct buf html = BUF_INIT, title = BUF_INIT, thumb = BUF_INIT, provider_url = BUF_INIT;
    buf_printf(&title, "Grid %s", e->hash);
    buf_printf(&thumb, "%s/thumb%s%s.png", e->base, kind, e->hash);
    buf_printf(&provider_url, "%s/", e->base);
    embed_iframe_html(&html, e->base, e->hash, e->secret, e->width, e->height);
    int rc = -1;
    json_t *doc = NULL;
    if (buf_failed(&html) || buf_failed(&title) || buf_failed(&thumb) ||
        buf_failed(&provider_url))
        goto done;
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}",
                    "version", "1.0", "type", "rich", "title", title.data,
                    "provider_name", e->provider ? e->provider : "",
                    "provider_url", provider_url.data, "html", html.data,
                    "width", (json_int_t)e->width, "height", (json_int_t)e->height);
    if (!doc)
        goto done;
    if (e->thumb_w && e->thumb_h &&
        (json_object_set_new(doc, "thumbnail_url", json_string(thumb.data)) ||
         json_object_set_new(doc, "thumbnail_width", json_integer(e->thumb_w)) ||
         json_object_set_new(doc, "thumbnail_height", json_integer(e->thumb_h))))
        goto done;
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        goto done;
    buf_puts(out, text);
    free(text);
    rc = buf_failed(out) ? -1 : 0;
done:
    json_decref(doc);
    buf_free(&html);
    buf_free(&title);
    buf_free(&thumb);
    buf_free(&provider_url);
    return rc;
}
