/* hash.h -- a fast 64-bit non-cryptographic hash of bytes, for hash tables
 * (cache.c) and strong ETags. Not for anything an attacker must not forge:
 * a collision only costs a cache its hit or a client a refetch. */
#ifndef IPBORG_HASH_H
#define IPBORG_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash64(const void *data, size_t len);

#endif
