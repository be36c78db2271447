/* profile_anon.c - one anon_probe, for test_profile's member lookups. */
#include "profile_anon.h"

struct anon_probe anon_probe;
