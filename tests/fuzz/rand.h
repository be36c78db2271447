/*
 * rand.h - the seeded xorshift64 that the fuzz targets' standalone loops
 * (XDS_FUZZ_STANDALONE) draw their inputs from: the same inputs on every
 * run, so a failure found once is found again.
 */
#ifndef XDS_FUZZ_RAND_H
#define XDS_FUZZ_RAND_H

#include <stdint.h>

static uint64_t fz_state = 0x9e3779b97f4a7c15ull;

static inline uint64_t fz_rand(void)
{
	fz_state ^= fz_state << 13;
	fz_state ^= fz_state >> 7;
	fz_state ^= fz_state << 17;
	return fz_state;
}

#endif
