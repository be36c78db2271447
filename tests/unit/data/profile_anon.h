/*
 * profile_anon.h - a struct whose members hide in anonymous structs and
 * unions, the way Linux wraps fields (randomized layout, cacheline groups).
 * Shared by tests/unit/data/profile_anon.c and test_profile.c.
 */
struct anon_probe {
	int a;
	union {
		struct {
			long b;
			struct {
				char c[3];
				int d;
			};
		};
		unsigned long e;
	};
	struct {
		short pad;
		int f;
	} named;
	int grid[2][3];
};
