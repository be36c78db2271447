/*
 * profile_kernel.c - a stand-in kernel image for test_profile: one object
 * of each struct the profile reads (types from sim/kernel.h) and the
 * symbols it looks up.  Compiled by the test itself with cc -g, with -D
 * switches that take one thing away (PROFILE_NO_RUNQUEUES) or rename a
 * field (-Dpid=xpid), and with -DPROFILE_MAIN as an executable.
 */
#include "sim/kernel.h"

struct task_struct init_task;
#ifndef PROFILE_NO_RUNQUEUES
struct rq runqueues;
#endif
unsigned long __per_cpu_offset[4];
unsigned int nr_cpu_ids = 1;
const char linux_banner[] =
	"Linux version 6.1.0-xds-fixture (test@profile) #1 SMP\n";
struct task_group root_task_group;
unsigned long page_offset_base = 0xffff888000000000ul;

struct thread_info profile_thread_info;
struct sched_entity profile_sched_entity;
struct cfs_rq profile_cfs_rq;
struct rb_node profile_rb_node;
struct rb_root profile_rb_root;
struct rb_root_cached profile_rb_root_cached;
struct list_head profile_list_head;
struct load_weight profile_load_weight;
raw_spinlock_t profile_raw_spinlock;

#ifdef PROFILE_MAIN
int main(void)
{
	return init_task.pid;
}
#endif
