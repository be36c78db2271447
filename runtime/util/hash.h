/*
 * hash.h - FNV-1a over bytes: a word that tells two byte strings apart
 * (a System.map's bytes, a kernel's banner).  Not for hostile collisions.
 */
#ifndef XDS_UTIL_HASH_H
#define XDS_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define XDS_FNV1A_INIT 0xcbf29ce484222325ULL

/* h (XDS_FNV1A_INIT to start) carried on over n bytes at p. */
static inline uint64_t xds_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

#endif
