/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Migration copy offload: what the core (migrate_copy_offload.c), its admin
 * interface (migrate_copy_offload_sysfs.c) and its fault injection
 * (migrate_copy_offload_fail.c) share.  Not for use outside mm/.
 */
#ifndef __MM_MIGRATE_COPY_OFFLOAD_INTERNAL_H
#define __MM_MIGRATE_COPY_OFFLOAD_INTERNAL_H

#include <linux/bits.h>
#include <linux/migrate_mode.h>
#include <linux/sizes.h>
#include <linux/types.h>
#include <asm/page.h>

struct folio;

/* Every reason but memory failure, whose soft offline needs the MC-safe CPU copy. */
#define MIGRATE_OFFLOAD_ALLOWED_REASONS	\
	((BIT(MR_TYPES) - 1) & ~BIT(MR_MEMORY_FAILURE))

/*
 * Bulk placement moves by default; compaction, hotplug, contiguous
 * allocation and long-term pinning only when the admin enables them.
 */
#define MIGRATE_OFFLOAD_DEFAULT_REASONS					\
	(BIT(MR_SYSCALL) | BIT(MR_MEMPOLICY_MBIND) | BIT(MR_DEMOTION) |	\
	 BIT(MR_DAMON) | BIT(MR_NUMA_MISPLACED))

/*
 * Batches with fewer eligible bytes go to the CPU: a small migration is
 * latency-bound and gains nothing from a batch engine's setup cost.
 */
#define MIGRATE_OFFLOAD_DEFAULT_MIN_BATCH_BYTES	SZ_256K
/*
 * No batch holds more bytes than this (see MIGRATE_OFFLOAD_MAX_FOLIOS):
 * NR_MAX_BATCHED_MIGRATION - 1 base pages and one PMD-sized folio, 4 MB
 * less a page on x86-64.  A larger threshold would turn offload off.
 */
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
#define MIGRATE_OFFLOAD_MAX_BATCH_BYTES	((2 * HPAGE_PMD_NR - 1) * PAGE_SIZE)
#else
#define MIGRATE_OFFLOAD_MAX_BATCH_BYTES	(512 * PAGE_SIZE)	/* base pages only */
#endif

/*
 * The core copies the metadata of the pages a migrator copied with
 * copy_highpage_metadata().  An architecture with its own copy_highpage()
 * that does not say what else it copies (sparc64 copies ADI version tags)
 * gets no migrator: its tags would be lost.
 */
#if defined(__HAVE_ARCH_COPY_HIGHPAGE) && !defined(__HAVE_ARCH_COPY_HIGHPAGE_METADATA)
static inline bool migrate_offload_metadata_known(void)
{
	return false;
}
#else
static inline bool migrate_offload_metadata_known(void)
{
	return true;
}
#endif

/* The admin's policy, read locklessly on the hot path. */
extern unsigned long migrate_offload_reasons;
extern unsigned long migrate_offload_min_batch_bytes;

unsigned long migrate_offload_effective_reasons(unsigned long admin,
						unsigned long migrator);
bool migrate_offload_batch_big_enough(size_t bytes, unsigned long min_bytes);
ssize_t migrate_offload_show_migrator(char *buf);
void migrate_offload_set_reasons(unsigned long mask);
unsigned long migrate_offload_effective_now(void);

ssize_t migrate_offload_format_reasons(unsigned long mask, char *buf);
int migrate_offload_parse_min_batch(const char *buf, size_t count, unsigned long *val);

#if IS_ENABLED(CONFIG_FAIL_MIGRATE_OFFLOAD)
bool migrate_offload_should_fail(struct folio *src, struct folio *dst);
#else
static inline bool migrate_offload_should_fail(struct folio *src, struct folio *dst)
{
	return false;
}
#endif

#endif /* __MM_MIGRATE_COPY_OFFLOAD_INTERNAL_H */
