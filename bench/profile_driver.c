/*
 * profile_driver.c - a stand-in for `xds-lua profile ...` used by the
 * profile benchmark and shell test until build/xds-lua exists.
 */
#include "profile/profile.h"

int main(int argc, char **argv)
{
	return profile_cli(argc - 1, argv + 1);
}
