/* embed.h -- putting a grid into another page: GET /embed/HASH (the grid
 * alone, framable by any site; page.c draws it) and oEmbed
 * (GET /oembed?url=URL[&maxwidth=N][&maxheight=N][&format=json]).
 *
 * Knows neither HTTP nor SQL: it reads the request's values, decides sizes
 * and writes the oEmbed JSON; handlers.c looks the grid up in between.
 *
 * Sizes. An embed shows the grid's PNG (as /HASH.png draws it), scaled to
 * the frame, over a one-line caption EMBED_CAPTION pixels high that links to
 * the grid's page. Its natural size is the PNG's, at most EMBED_DEFAULT_MAX
 * pixels on a side; maxwidth / maxheight (oEmbed's) shrink it further,
 * keeping the grid's proportions, so the frame is never larger than asked.
 * A frame is at least EMBED_MIN_WIDTH wide (when allowed), so that the
 * caption fits beside a small grid, which is then centred. */
#ifndef IPBORG_EMBED_H
#define IPBORG_EMBED_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "hashid.h"

#define EMBED_CAPTION 32           /* px: the caption line under the grid */
#define EMBED_DEFAULT_MAX 640      /* px: the grid's side when no max is asked */
#define EMBED_MIN_WIDTH 200        /* px: room for the caption beside a small grid */
#define EMBED_MIN_SIDE 64          /* smallest maxwidth / maxheight accepted */
#define EMBED_MAX_SIDE 100000      /* largest accepted (anything larger is 400) */

/* What embed_match_url found. */
enum embed_match {
    EMBED_URL_GRID = 0,       /* a grid of this site: *secret and hash are set */
    EMBED_URL_OTHER_SITE,     /* not an http(s) URL of this site */
    EMBED_URL_NOT_GRID,       /* this site, but not a grid's page or embed */
};

/* Does url name a grid page of the site at base ("http://host[:port][/prefix]",
 * no trailing slash)? Either scheme (http, https) matches, the host is
 * compared without regard to case, a query or fragment is ignored, trailing
 * slashes too (the server redirects them away). Grid paths: /HASH,
 * /secret/HASH, /embed/HASH, /embed/secret/HASH. The hash is copied to
 * hash[0..hashsize) as written (the caller checks that it is canonical). */
enum embed_match embed_match_url(const char *base, const char *url, bool *secret,
                                 char *hash, size_t hashsize);

/* A maxwidth / maxheight value: NULL (absent) gives 0; a decimal number
 * EMBED_MIN_SIDE..EMBED_MAX_SIDE gives itself; -1 for anything else. */
int embed_parse_side(const char *text, unsigned *side);

/* The frame's size for an image of img_w x img_h pixels (0 x 0: not
 * drawable, shown as a message) within maxwidth x maxheight (0: no limit):
 * *w x *h includes the caption. Never larger than a given max. */
void embed_frame_size(unsigned img_w, unsigned img_h, unsigned maxwidth,
                      unsigned maxheight, unsigned *w, unsigned *h);

/* The HTML that puts the embed of a grid into another page: an <iframe> of
 * base/embed[/secret]/hash, width x height (embed_frame_size), no border;
 * every value escaped for its attribute. The oEmbed answer's html and the
 * snippet on the grid page are this text. */
void embed_iframe_html(struct buf *out, const char *base, const char *hash, bool secret,
                       unsigned width, unsigned height);

/* What the oEmbed answer says. Strings are borrowed. */
struct embed_oembed {
    const char *base;          /* the site, as embed_match_url's base */
    const char *hash;
    bool secret;
    const char *provider;      /* provider_name, e.g. "ipborg" */
    unsigned width, height;    /* the frame (embed_frame_size) */
    unsigned thumb_w, thumb_h; /* the thumbnail's size; 0: no thumbnail */
};

/* Appends the oEmbed JSON (version 1.0, type rich, html = an <iframe> of
 * the embed) to out. 0, or -1 on out of memory. */
int embed_oembed_json(struct buf *out, const struct embed_oembed *e);

/* The size of the thumbnail /thumb/HASH.png of an image of img_w x img_h
 * (its longer side scaled to side, the other at least 1). */
void embed_thumb_size(unsigned img_w, unsigned img_h, unsigned side, unsigned *w,
                      unsigned *h);

#endif
