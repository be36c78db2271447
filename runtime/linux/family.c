/*
 * family.c - the table of scheduler families, and the choice of one.
 *
 * Each family says from the profile's fields alone whether it can handle
 * the kernel (its match); the first that can is the guest's.  A profile
 * no family matches is refused at attach with the family the profile
 * declares and what each family found missing.  Adding a family is adding
 * its file and one line below.  A family may read only (eevdf for now):
 * lx_can_write says so, and nothing is asked of its changes.
 */
#include <stdio.h>
#include <string.h>

#include "linux/family.h"

static const struct lx_family *const families[] = {
	&lx_cfs,
	&lx_eevdf,
};

#define NR_FAMILIES (sizeof families / sizeof families[0])

const struct lx_family *lx_family_pick(const struct profile *p, struct xds_err *err)
{
	char whys[512] = "";
	size_t used = 0;
	for (size_t i = 0; i < NR_FAMILIES; i++) {
		char why[160] = "";
		if (families[i]->match(p, why, sizeof why))
			return families[i];
		int n = snprintf(whys + used, sizeof whys - used, "%s%s: %s", used ? "; " : "", families[i]->name, why);
		if (n > 0)
			used = strlen(whys);
	}
	xds_fail(err, "%s: scheduler family '%s' is not supported yet: no family matches the profile's fields (%s)",
		 p->source, profile_family_name(p->family), whys);
	return NULL;
}
