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
#include <linux/jump_label.h>
#include <linux/migrate_mode.h>
#include <linux/tracepoint-defs.h>
#include <linux/types.h>

struct folio;
struct list_head;
struct module;

/**
 * struct migrate_copy_batch - the folios a migrator is asked to copy
 * @src: the source folios.
 * @dst: the destination folios; dst[i] is as large as src[i].
 * @copied: bitmap of @nr bits, all clear on entry.  The migrator sets bit i
 *	once every byte of src[i] is in dst[i], and for no other folio.
 * @nr: the number of (src[i], dst[i]) pairs, at most 512.
 * @bytes: the sum of the sizes of the source folios.
 * @reason: why the folios migrate (enum migrate_reason).
 *
 * Every source folio is locked, unmapped from every page table (the TLB
 * flush is done) and holds only the references migration expects, so its
 * data cannot change while the migrator reads it.  Every destination folio
 * is locked and not visible to anyone else.  The folios may come from any
 * node, and their sizes may differ within a batch.
 */
struct migrate_copy_batch {
	struct folio **src;
	struct folio **dst;
	unsigned long *copied;
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
 *	its reason is in this mask and allowed by the core's policy, which
 *	never allows MR_MEMORY_FAILURE.
 * @copy: copy the data of a batch of folios; see below.
 *
 * migrate_pages_batch() calls @copy once per batch of unmapped folios,
 * between the unmap phase and the move phase.  The move phase then skips
 * the data copy of every folio whose bit the migrator set in
 * &migrate_copy_batch.copied, and copies every other folio with the CPU,
 * exactly as without a migrator.  So a partial result is always correct:
 * a migrator may copy some folios, none (a busy engine, a failed mapping,
 * a machine check), or all of them.  A folio must never be marked copied
 * unless all its data reached the destination: the core cannot tell.
 *
 * Calling context of @copy: process context, in a sleepable SRCU read-side
 * critical section of the core.  The caller holds the folio locks of up to
 * 512 source and 512 destination folios and may be in direct reclaim,
 * kswapd (demotion, with PF_MEMALLOC set) or compaction.  @copy may
 * sleep briefly (cond_resched(), polling a completion) but must not wait
 * for anything that may need memory or a folio lock, must not allocate
 * memory in a way that can enter reclaim (preallocate, or use GFP_NOWAIT
 * and fall back), and must bound every wait: a migration blocked in @copy
 * blocks migrate_offload_unregister() too.  @copy must not change the
 * folios' flags, mapping, refcount or lock state.
 *
 * Return of @copy: 0, or a negative errno when the migrator stopped early.
 * Only the bits in &migrate_copy_batch.copied decide which folios the
 * move phase treats as copied; the return value is for reporting.
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

/*
 * What the batch-copy phase of migrate_pages_batch() leaves for its move
 * phase: the destination folios the migrator copied.  For mm/migrate.c only.
 */
struct migrate_offload_state {
#ifdef CONFIG_MIGRATION_COPY_OFFLOAD
	struct folio **copied;		/* sorted by address */
	unsigned int nr_copied;
	bool reserved;			/* @buf is from the reserve */
	void *buf;
	/* For the migrate_offload_phases event, only while it is on. */
	u64 t_start, t_unmapped, t_copied;
	unsigned int nr_moving;
	int reason;
#endif
};

#ifdef CONFIG_MIGRATION_COPY_OFFLOAD

int migrate_offload_register(struct migrator *m);
int migrate_offload_unregister(struct migrator *m);

DECLARE_STATIC_KEY_FALSE(migrate_offload_enabled);
DECLARE_TRACEPOINT(migrate_offload_phases);

void __migrate_offload_copy_folios(struct migrate_offload_state *st,
				   struct list_head *src_folios,
				   struct list_head *dst_folios, int reason);
bool __migrate_offload_copied(const struct migrate_offload_state *st,
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
 * Return: true when the move phase must not copy the data again.
 */
static inline bool migrate_offload_copied(const struct migrate_offload_state *st,
					  const struct folio *dst)
{
	return st->nr_copied && __migrate_offload_copied(st, dst);
}

/**
 * migrate_offload_done - release the state of a batch
 * @st: the state migrate_offload_copy_folios() filled
 */
static inline void migrate_offload_done(struct migrate_offload_state *st)
{
	if (tracepoint_enabled(migrate_offload_phases))
		__migrate_offload_phases(st);
	if (st->buf)
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

static inline void migrate_offload_copy_folios(struct migrate_offload_state *st,
					       struct list_head *src_folios,
					       struct list_head *dst_folios,
					       int reason)
{
}

static inline bool migrate_offload_copied(const struct migrate_offload_state *st,
					  const struct folio *dst)
{
	return false;
}

static inline void migrate_offload_start(struct migrate_offload_state *st)
{
}

static inline void migrate_offload_done(struct migrate_offload_state *st)
{
}

#endif /* CONFIG_MIGRATION_COPY_OFFLOAD */

#endif /* _LINUX_MIGRATE_COPY_OFFLOAD_H */
