/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Migration copy offload: a batch-copy engine ("migrator") copies the data
 * of the folios migrate_pages() has unmapped, before they are moved.
 *
 * See Documentation/mm/migrate_copy_offload.rst.
 */
#ifndef _LINUX_MIGRATE_COPY_OFFLOAD_H
#define _LINUX_MIGRATE_COPY_OFFLOAD_H

#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/gfp_types.h>
#include <linux/jump_label.h>
#include <linux/migrate_mode.h>
#include <linux/tracepoint-defs.h>
#include <linux/types.h>
#include <asm/page.h>

struct folio;
struct list_head;
struct module;

/*
 * The most folios one batch can hold.  migrate_pages() cuts a batch once it
 * holds NR_MAX_BATCHED_MIGRATION base pages (HPAGE_PMD_NR, or 512 without
 * THP), so a batch is at most that many folios: 511 base pages and the
 * folio that crosses the line, which may be a THP.  The core keeps one
 * pointer per folio in arrays of at most a page, so it offers at most a
 * page of pointers (512 on x86-64, 8192 on arm64 with 64 KB pages, both
 * equal to NR_MAX_BATCHED_MIGRATION there); were a batch ever longer, its
 * folios past this number would be copied by the CPU.
 */
#define MIGRATE_OFFLOAD_MAX_FOLIOS	(PAGE_SIZE / sizeof(struct folio *))

/*
 * Flags for any allocation a migrator makes per batch: no reclaim of any
 * kind (the caller may be kswapd or a direct reclaimer, so not even a kswapd
 * wakeup), no emergency reserves, no warning.  Allocate at most a page (a
 * kmalloc cache, never a high-order page) and fall back to a reserve made
 * at probe time, or leave the batch to the CPU.
 */
#define MIGRATE_OFFLOAD_GFP	(__GFP_NOWARN | __GFP_NOMEMALLOC)

/**
 * struct migrate_copy_batch - the folios a migrator is asked to copy
 * @src: the source folios.
 * @dst: the destination folios; dst[i] is as large as src[i].
 * @copied: bitmap of @nr bits, all clear on entry.  The migrator sets bit i
 *	once every byte of src[i] is in dst[i] and visible to the CPU, and for
 *	no other folio.
 * @stuck: bitmap of @nr bits, all clear on entry.  The migrator sets bit i
 *	when it cannot rule out that its engine still reads src[i] or writes
 *	dst[i] (see below).  The core then fails that folio's migration and
 *	never frees nor maps dst[i].  A folio is never both copied and stuck.
 * @nr: the number of (src[i], dst[i]) pairs, at most
 *	MIGRATE_OFFLOAD_MAX_FOLIOS.
 * @bytes: the sum of the sizes of the source folios: at most
 *	(NR_MAX_BATCHED_MIGRATION - 1) base pages plus one THP, about 4 MB on
 *	x86-64.
 * @reason: why the folios migrate (enum migrate_reason).
 *
 * Every source folio is locked, unmapped from every page table (the TLB
 * flush is done), holds only the references migration expects and has no
 * hardware-poisoned page, so its data cannot change while the migrator
 * reads it.  Every destination folio is locked and not visible to anyone
 * else.  The folios may come from any node, and their sizes may differ
 * within a batch.
 */
struct migrate_copy_batch {
	struct folio **src;
	struct folio **dst;
	unsigned long *copied;
	unsigned long *stuck;
	unsigned int nr;
	size_t bytes;
	enum migrate_reason reason;
};

/**
 * struct migrator - a batch-copy engine for page migration
 * @name: a short name, shown to the admin.
 * @owner: the module that provides @copy.
 * @reasons: the migrations the migrator is meant for, as a mask of
 *	BIT() of enum migrate_reason values.  The core offers a batch only when
 *	its reason is in this mask and allowed by the admin, who can never
 *	allow MR_MEMORY_FAILURE.
 * @copy: copy the data of a batch of folios; see below.
 *
 * migrate_pages_batch() calls @copy once per batch of unmapped folios,
 * between the unmap phase and the move phase.  The move phase then skips
 * the data copy of every folio whose bit the migrator set in
 * &migrate_copy_batch.copied, and copies every other folio with the CPU,
 * exactly as without a migrator.  So a partial result is always correct:
 * a migrator may copy some folios, none (a busy engine, a failed mapping,
 * a machine check), or all of them.
 *
 * What a migrator must guarantee, because the core cannot check it:
 *
 * - A bit is set only when all of the folio's data is in the destination
 *   and visible to the CPU: for a device, after the completion is seen and
 *   the DMA mapping is unmapped (or synced for the CPU).
 * - When @copy returns, no engine reads or writes any folio of the batch
 *   again, copied or not.  The move phase copies an uncopied folio with the
 *   CPU and maps it, or frees the destination on failure: a device write
 *   that lands after @copy returned is silent corruption of a mapped page
 *   or of memory that belongs to someone else.  A migrator whose engine
 *   neither completes nor aborts some work within the migrator's own bound
 *   (a hung device that still reports itself working) sets the folios of
 *   that work in @stuck: the move phase then fails their migration (the
 *   source is mapped back where it was) and keeps a reference to each
 *   stuck destination forever, so a late write lands in memory nobody
 *   uses.  The migrator keeps its own DMA mappings of stuck folios too, so
 *   a late access never reaches an address reused for something else.
 * - A migrator copies the data only.  Page metadata that copy_highpage()
 *   copies with it (arm64 MTE tags) is copied by the core, with
 *   copy_highpage_metadata(), for every folio marked in @copied, after
 *   @copy returns.
 * - Folios with a hardware-poisoned page are never in a batch: the core
 *   leaves them to the CPU's machine-check-safe copy.  A CPU migrator that
 *   consumes poison anyway (a page gone bad since) uses copy_mc_highpage(),
 *   which queues the memory failure, and leaves the folio unmarked.
 *
 * Why a mark stays valid: the move phase may fail a folio with -EAGAIN (an
 * unexpected reference, say a speculative one from a page cache lookup)
 * and retry it, up to NR_MAX_MIGRATE_PAGES_RETRY passes, without calling
 * the migrator again.  The copy stays good across those passes because the
 * source folio stays locked and unmapped from the unmap phase to the end
 * of the move phase: its data can change only through a page table (none
 * maps it: a fault waits on the migration entry), under the folio lock
 * (the page cache write path), or through a pin taken before the unmap
 * (the core offers no folio with an unexpected reference).
 *
 * Calling context of @copy: process context, in a sleepable SRCU read-side
 * critical section of the core.  The caller holds the folio locks of every
 * source and destination folio of the batch and may be in direct reclaim,
 * kswapd (demotion, with PF_MEMALLOC set) or compaction.  @copy may sleep
 * (cond_resched(), waiting for a completion) but must not wait for anything
 * that may need memory or a folio lock, must not allocate memory in a way
 * that can reclaim (see MIGRATE_OFFLOAD_GFP), and must bound its waits: a
 * migration blocked in @copy blocks migrate_offload_unregister() too, and
 * holds up to a batch of folio locks.  Past its bound, work the engine may
 * still do is reported in @stuck (above), never simply abandoned.  @copy
 * must not change the folios' flags, mapping, refcount or lock state.
 *
 * Return of @copy: 0, or a negative errno when the migrator stopped early.
 * Only the bits in &migrate_copy_batch.copied and &migrate_copy_batch.stuck
 * decide what the move phase does; the return value is for reporting.
 *
 * The core takes no reference on @owner: migrate_offload_unregister()
 * returns only after every call to @copy has returned, so the owner must
 * unregister before it goes away (in its exit or remove path), and may be
 * unloaded as soon as that returns.
 */
struct migrator {
	const char *name;
	struct module *owner;
	unsigned long reasons;
	int (*copy)(struct migrator *m, struct migrate_copy_batch *batch);
};

/* What the move phase does with a folio's data: see migrate_offload_copied(). */
enum migrate_offload_copy {
	MIGRATE_OFFLOAD_COPY_CPU,	/* copy it with the CPU, as without a migrator */
	MIGRATE_OFFLOAD_COPY_DONE,	/* the migrator did: do not copy it again */
	MIGRATE_OFFLOAD_COPY_STUCK,	/* an engine may still write it: fail the folio */
};

/*
 * What the batch-copy phase of migrate_pages_batch() leaves for its move
 * phase: the destination folios the migrator copied, and those it left
 * stuck.  For mm/migrate.c only.
 */
struct migrate_offload_state {
#ifdef CONFIG_MIGRATION_COPY_OFFLOAD
	struct folio **copied;		/* sorted by address, then the stuck ones */
	unsigned int nr_copied;
	unsigned int nr_stuck;
	bool reserved;			/* @copied is from the reserve */
	/* For the migrate_offload_phases event, only while it is on. */
	u64 t_start, t_unmapped, t_copied;
	unsigned int nr_moving;
	int reason;
#endif
};

#ifdef CONFIG_MIGRATION_COPY_OFFLOAD

int migrate_offload_register(struct migrator *m);
int migrate_offload_unregister(struct migrator *m);
int migrate_offload_parse_reasons(const char *buf, size_t count, unsigned long *mask);

DECLARE_STATIC_KEY_FALSE(migrate_offload_enabled);
DECLARE_TRACEPOINT(migrate_offload_phases);

void __migrate_offload_copy_folios(struct migrate_offload_state *st,
				   struct list_head *src_folios,
				   struct list_head *dst_folios, int reason);
enum migrate_offload_copy __migrate_offload_copied(const struct migrate_offload_state *st,
						   const struct folio *dst);
void __migrate_offload_done(struct migrate_offload_state *st);
/* Points of migrate_pages_batch() the migrate_offload_phases event times. */
enum migrate_offload_mark {
	MIGRATE_OFFLOAD_START,
	MIGRATE_OFFLOAD_UNMAPPED,
	MIGRATE_OFFLOAD_COPIED,
};

void __migrate_offload_phase(struct migrate_offload_state *st, enum migrate_offload_mark mark,
			     struct list_head *src_folios, int reason);
void __migrate_offload_phases(struct migrate_offload_state *st);

/**
 * migrate_offload_start - note the start of a migrate_pages_batch() call
 * @st: its state, zero-initialised
 *
 * Costs one static branch: time is taken only while the
 * migrate_offload_phases event is on.
 */
static inline void migrate_offload_start(struct migrate_offload_state *st)
{
	if (tracepoint_enabled(migrate_offload_phases))
		__migrate_offload_phase(st, MIGRATE_OFFLOAD_START, NULL, 0);
}

/**
 * migrate_offload_copy_folios - let the active migrator copy a batch
 * @st: state for the move phase, zero-initialised by the caller
 * @src_folios: unmapped source folios, linked by ->lru
 * @dst_folios: their destination folios, in the same order
 * @reason: enum migrate_reason of the migration
 *
 * Costs one static branch when no migrator is registered.
 */
static inline void migrate_offload_copy_folios(struct migrate_offload_state *st,
					       struct list_head *src_folios,
					       struct list_head *dst_folios,
					       int reason)
{
	if (tracepoint_enabled(migrate_offload_phases))
		__migrate_offload_phase(st, MIGRATE_OFFLOAD_UNMAPPED, src_folios, reason);
	if (static_branch_unlikely(&migrate_offload_enabled))
		__migrate_offload_copy_folios(st, src_folios, dst_folios, reason);
	if (tracepoint_enabled(migrate_offload_phases))
		__migrate_offload_phase(st, MIGRATE_OFFLOAD_COPIED, NULL, reason);
}

/**
 * migrate_offload_copied - did the migrator copy the data into @dst?
 * @st: the state migrate_offload_copy_folios() filled
 * @dst: a destination folio of the batch
 *
 * Return: MIGRATE_OFFLOAD_COPY_DONE when the move phase must not copy the data
 * again, MIGRATE_OFFLOAD_COPY_STUCK when it must fail the folio's migration
 * (see &migrate_copy_batch.stuck), MIGRATE_OFFLOAD_COPY_CPU otherwise.
 */
static inline enum migrate_offload_copy
migrate_offload_copied(const struct migrate_offload_state *st, const struct folio *dst)
{
	if (!st->nr_copied && !st->nr_stuck)
		return MIGRATE_OFFLOAD_COPY_CPU;
	return __migrate_offload_copied(st, dst);
}

/**
 * migrate_offload_done - release the state of a batch
 * @st: the state migrate_offload_copy_folios() filled
 */
static inline void migrate_offload_done(struct migrate_offload_state *st)
{
	if (tracepoint_enabled(migrate_offload_phases))
		__migrate_offload_phases(st);
	if (st->copied)
		__migrate_offload_done(st);
}

#else /* !CONFIG_MIGRATION_COPY_OFFLOAD */

static inline int migrate_offload_register(struct migrator *m)
{
	return -EOPNOTSUPP;
}

static inline int migrate_offload_unregister(struct migrator *m)
{
	return -EOPNOTSUPP;
}

static inline int migrate_offload_parse_reasons(const char *buf, size_t count,
						unsigned long *mask)
{
	return -EOPNOTSUPP;
}

static inline void migrate_offload_copy_folios(struct migrate_offload_state *st,
					       struct list_head *src_folios,
					       struct list_head *dst_folios,
					       int reason)
{
}

static inline enum migrate_offload_copy
migrate_offload_copied(const struct migrate_offload_state *st, const struct folio *dst)
{
	return MIGRATE_OFFLOAD_COPY_CPU;
}

static inline void migrate_offload_start(struct migrate_offload_state *st)
{
}

static inline void migrate_offload_done(struct migrate_offload_state *st)
{
}

#endif /* CONFIG_MIGRATION_COPY_OFFLOAD */

#endif /* _LINUX_MIGRATE_COPY_OFFLOAD_H */
