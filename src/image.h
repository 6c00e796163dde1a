/* image.h -- a grid drawn as a PNG image, as the client's save_image draws it.
 *
 * Knows nothing of HTTP or SQL: JSON grid_data in, PNG bytes out. Serves
 * GET /HASH.png and GET /secret/HASH.png. The geometry, the treatment of
 * mixed block sizes and the scaling of images over IMAGE_MAX_SIDE are
 * described at the top of image.c. */
#ifndef IPBORG_IMAGE_H
#define IPBORG_IMAGE_H

#include <stddef.h>
#include "buf.h"

/* Longest side of an image, in pixels; larger grids are scaled down to it. */
#define IMAGE_MAX_SIDE 4096

/* Appends a PNG (8-bit RGB) of grid_data[0..len) (JSON text, as stored; it
 * may be legacy data that was never validated) to out. Returns 0 on success.
 * Returns -1 when the JSON is not a drawable grid, or on out of memory, with
 * a one-line message in err[0..errlen); out is then left as it was (unless it
 * was already out of memory). Never crashes on any input. The caller owns out
 * and grid_data; nothing is kept between calls, so calls may run in parallel
 * on different buffers. */
int image_render_png(struct buf *out, const char *grid_data, size_t len,
                     char *err, size_t errlen);

/* A thumbnail (GET /thumb/HASH.png): the same drawing, scaled up or down so
 * that the longer side is exactly side pixels (1..IMAGE_MAX_SIDE); lines
 * stay while every block keeps a pixel between two. Same contract as
 * image_render_png otherwise. */
#define IMAGE_THUMB_SIDE 160
int image_render_thumb_png(struct buf *out, const char *grid_data, size_t len,
                           unsigned side, char *err, size_t errlen);

/* The size in pixels of the image image_render_png would draw (for the
 * og:image:width / height of the grid page). 0, or -1 if not drawable. */
int image_size(const char *grid_data, size_t len, unsigned *width, unsigned *height);

#endif
