/* image.h -- a grid drawn as a PNG image, as the client's save_image draws it.
 *
 * Knows nothing of HTTP or SQL: a grid read by grid_read (grid.h) in, PNG
 * bytes out. Serves
 * GET /HASH.png and GET /secret/HASH.png. The geometry, the treatment of
 * mixed block sizes and the scaling of images over IMAGE_MAX_SIDE are
 * described at the top of image.c. */
#ifndef IPBORG_IMAGE_H
#define IPBORG_IMAGE_H

#include <stddef.h>
#include "buf.h"
#include "grid.h"

/* Longest side of an image, in pixels; larger grids are scaled down to it. */
#define IMAGE_MAX_SIDE 4096

/* Appends a PNG (8-bit RGB) of g (read by grid_read) to out. Returns 0 on
 * success, -1 on out of memory (or a g that was not read) with a one-line
 * message in err[0..errlen); out is then left as it was (unless it was
 * already out of memory). The caller owns out and g; nothing is kept between
 * calls, so calls may run in parallel on different buffers. */
int image_draw_png(struct buf *out, const struct grid *g, char *err, size_t errlen);

/* The size in pixels of the image image_draw_png draws of g (for the
 * og:image:width / height of the grid page). */
void image_grid_size(const struct grid *g, unsigned *width, unsigned *height);

/* The same from stored JSON text (grid_read, then the above), for callers
 * that hold only the text: -1 with a message when grid_read refuses it.
 * Never crashes on any input. */
int image_render_png(struct buf *out, const char *grid_data, size_t len,
                     char *err, size_t errlen);

/* A thumbnail (GET /thumb/HASH.png): the same drawing, scaled up or down so
 * that the longer side is exactly side pixels (1..IMAGE_MAX_SIDE); lines
 * stay while every block keeps a pixel between two. Same contract as
 * image_render_png otherwise. */
#define IMAGE_THUMB_SIDE 160
int image_render_thumb_png(struct buf *out, const char *grid_data, size_t len,
                           unsigned side, char *err, size_t errlen);

/* The size in pixels of the image image_render_png would draw. 0, or -1 if
 * not drawable. */
int image_size(const char *grid_data, size_t len, unsigned *width, unsigned *height);

#endif
