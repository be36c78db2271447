/*
 * sched_int.h - what the files of the scheduler share: struct xds_sched
 * and the functions one file offers the others (held.c, acct.c, journal.c,
 * recover.c, tindex.c, sched.c).  Not for use outside runtime/sched.
 */
#ifndef XDS_SCHED_INT_H
#define XDS_SCHED_INT_H

#include "sched/sched.h"

/* ---- tindex.c: one open-addressing index from a task's key to an entry ---- */

struct tindex {
	int *slot;              /* entry numbers, -1 empty */
	size_t cap;             /* a power of two, > 2 * entries */
};

uint64_t tindex_hash(int guest, uint64_t addr, int pid);
/* Empty it, with room for n entries; -1 when out of memory. */
int tindex_reset(struct tindex *ix, size_t n);
void tindex_put(struct tindex *ix, uint64_t hash, int entry);
/* The first entry under hash that match accepts, or -1. */
int tindex_find(const struct tindex *ix, uint64_t hash,
		bool (*match)(const void *ctx, int entry), const void *ctx);
void tindex_free(struct tindex *ix);

struct xds_sched {
	struct xds_host *host;
	struct xds_sched_opts opt;
	/* held.c */
	struct xds_held *held;
	int nr_held, cap_held;
	struct tindex held_idx;         /* keyed by (guest, addr): rebuilt when dirty */
	bool held_dirty;
	/* acct.c */
	struct xds_acct *acct;
	int nr_acct, cap_acct;
	struct tindex acct_idx;         /* keyed by (guest, addr, pid) */
	/* sched.c */
	struct xds_stats stats;
	uint64_t start_ns, now_ns;      /* host time */
	uint64_t rescanned_ns;          /* when guests were last looked for */
	/* a guest asked to stop keeps its tasks until then (host time); the
	 * slot's generation says which guest was asked (a slot is reused) */
	uint64_t released_until[XDS_MAX_GUESTS];
	uint32_t released_gen[XDS_MAX_GUESTS];
	/* journal.c */
	int journal_fd;
	int undo_fd;                    /* the undo area (journal.c), or -1 */
	uint8_t *undo_map;
	size_t undo_size, undo_used;
	bool undo_spilled;              /* this batch's records went on in the journal */
	uint64_t batch_seq;             /* the last batch's number, unique across runs */
	/* protect.c: tasks whose refusal was said */
	struct { int guest, pid; uint64_t addr; } *refused;
	int nr_refused, cap_refused;
};

/* ---- held.c ---- */
struct xds_held *held_find(struct xds_sched *s, int guest, uint64_t addr);
struct xds_held *held_add(struct xds_sched *s, int guest, const struct lx_task *t,
			  struct xds_err *err);
void held_drop(struct xds_sched *s, struct xds_held *h);
void held_free(struct xds_sched *s);

/* ---- acct.c ---- */
/* Charge dt of host time to every task of the latest snapshots. */
void acct_tick(struct xds_sched *s, uint64_t dt);
/* A policy wished task t of guest frozen or thawed: it is named. */
void acct_name(struct xds_sched *s, int guest, const struct lx_task *t);
void acct_free(struct xds_sched *s);

/* ---- journal.c ---- */
/* Open and lock path (its folders made); the fd, or -1 with err. */
int journal_open(const char *path, struct xds_err *err);
/* One line, not synced (it outlives the process, not the host). */
int journal_put(struct xds_sched *s, struct xds_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int journal_sync(struct xds_sched *s, struct xds_err *err);
/* The "boot" line's hash of a kernel's linux_banner. */
uint64_t journal_boot_hash(const char *banner);
/* One line, synced before it returns (no journal: nothing to do). */
#define journal_line(s, err, ...) \
	(journal_put((s), (err), __VA_ARGS__) || journal_sync((s), (err)) ? -1 : 0)
/* Start the journal anew: "guest NAME SPEC" for every live guest. */
int journal_guests(struct xds_sched *s, struct xds_err *err);
int journal_empty(struct xds_sched *s, struct xds_err *err);
/* The undo area beside the journal (PATH.undo): opened after recovery;
 * without it, undo records are journal lines. */
void journal_undo_open(struct xds_sched *s);
/* Closed; removed after a clean end (clean: nothing is left to undo). */
void journal_undo_close(struct xds_sched *s, bool clean);
/* A new batch of guest name, numbered seq (its "pause NAME SEQ" written). */
void journal_undo_begin(struct xds_sched *s, const char *name, uint64_t seq);
/* The old value of a write about to be made, where a kill -9 finds it. */
int journal_undo_put(struct xds_sched *s, const char *name, uint64_t va, unsigned len, uint64_t old,
		     uint64_t val, struct xds_err *err);
/* PATH.undo of journal path in buf of size; false if it does not fit. */
bool journal_undo_path(const char *path, char *buf, size_t size);

/* ---- recover.c ---- */
/* Thaw what the journal at path lists; attached: guests of this run to
 * use where the journal names them (may be NULL). */
int recover_journal(struct xds_host *attached, const char *path, struct xds_err *err);

/* ---- protect.c ---- */
/* 0: t may be frozen; 1: it is protected (err says why); 2: the same, and
 * the first time for this task (to be said on the log). */
int protect_check(struct xds_sched *s, int guest, const struct lx_task *t, struct xds_err *err);
/* The same for a guest whose scheduler family reads only (eevdf for now). */
int protect_family(struct xds_sched *s, int guest, const struct lx_task *t, struct xds_err *err);
void protect_free(struct xds_sched *s);

#endif
