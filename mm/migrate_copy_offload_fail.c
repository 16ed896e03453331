// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection for migration copy offload: make the core treat folios
 * the migrator copied as not copied, and overwrite what the migrator wrote
 * into their destination, so tests can prove that the CPU fallback copies
 * every byte, whatever the migrator.
 *
 * Boot: fail_migrate_offload=<interval>,<probability>,<space>,<times>
 * Runtime: /sys/kernel/debug/fail_migrate_offload/ (the usual fault_attr
 * files; see Documentation/fault-injection/fault-injection.rst).  The size
 * of a folio in bytes is what is taken from "space".
 */
#include <linux/fault-inject.h>
#include <linux/highmem.h>
#include <linux/init.h>
#include <linux/mm.h>

#include "migrate_copy_offload_internal.h"

static DECLARE_FAULT_ATTR(fail_migrate_offload);

static int __init setup_fail_migrate_offload(char *str)
{
	return setup_fault_attr(&fail_migrate_offload, str);
}
__setup("fail_migrate_offload=", setup_fail_migrate_offload);

/* What a failed copy leaves in the destination here: not the data. */
#define MIGRATE_OFFLOAD_FAIL_BYTE	0xf1

/**
 * migrate_offload_should_fail - pretend the migrator failed to copy @src
 * @src: a source folio the migrator reported copied
 * @dst: its destination, locked and not yet visible to anyone
 *
 * When the fault fires, @dst is filled with MIGRATE_OFFLOAD_FAIL_BYTE, as a
 * copy that broke off could leave it: only the CPU copy of the move phase
 * puts the data back, so a test that checks every byte catches a fallback
 * that does not copy.
 *
 * Return: true when the core must copy @src with the CPU after all.
 */
bool migrate_offload_should_fail(struct folio *src, struct folio *dst)
{
	long i;

	if (!should_fail(&fail_migrate_offload, folio_size(src)))
		return false;
	for (i = 0; i < folio_nr_pages(dst); i++)
		memset_page(folio_page(dst, i), 0, MIGRATE_OFFLOAD_FAIL_BYTE, PAGE_SIZE);
	return true;
}

static int __init fail_migrate_offload_debugfs(void)
{
	struct dentry *dir;

	if (!IS_ENABLED(CONFIG_FAULT_INJECTION_DEBUG_FS))
		return 0;
	dir = fault_create_debugfs_attr("fail_migrate_offload", NULL, &fail_migrate_offload);
	return PTR_ERR_OR_ZERO(dir);
}
late_initcall(fail_migrate_offload_debugfs);
