/*
 * sanity.c - cross-checks at attach that the profile and the guest agree,
 * whatever source the profile came from (the guest writes its own BTF and
 * kallsyms, so a profile built from its memory proves nothing alone):
 * init_task is named "swapper/0" and its tasks list links back to it, and
 * each CPU's run queue says it is that CPU's.  Reads only; the walks
 * themselves are snapshot.c's.
 */
#include <string.h>

#include "linux/linux_int.h"

int lx_check_kernel(struct lx_guest *g, struct xds_err *err)
{
	char comm[16] = "";
	uint64_t tasks = g->init_task + profile_field(&g->prof, F_TASK_TASKS)->offset;
	uint64_t next, back, cpu;
	if (vmem_read(g->vm, g->init_task + profile_field(&g->prof, F_TASK_COMM)->offset, comm,
		      sizeof comm - 1, err))
		return xds_err_wrap(err, "init_task.comm");
	if (strncmp(comm, "swapper", 7) != 0)
		return xds_fail(err, "init_task is named '%.15s', not swapper/0: not the kernel "
				"of profile %s?", comm, g->prof.source);
	if (lx_read_field(g, tasks, F_LIST_NEXT, &next, err) ||
	    lx_read_field(g, next, F_LIST_PREV, &back, err))
		return xds_err_wrap(err, "init_task.tasks");
	if (back != tasks)
		return xds_fail(err, "init_task.tasks.next->prev is %#llx, not init_task.tasks (%#llx)",
				(unsigned long long)back, (unsigned long long)tasks);
	for (int c = 0; c < g->nr_cpus; c++) {
		if (lx_read_field(g, g->rq[c], F_RQ_CPU, &cpu, err))
			return xds_err_wrap(err, "runqueues of CPU %d", c);
		if (cpu != (uint64_t)c)
			return xds_fail(err, "the run queue of CPU %d says it is CPU %llu", c,
					(unsigned long long)cpu);
	}
	return 0;
}
