/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM migrate_offload

#if !defined(_TRACE_MIGRATE_OFFLOAD_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_MIGRATE_OFFLOAD_H

#include <linux/migrate_mode.h>
#include <linux/tracepoint.h>

/* Export the reasons to userspace tools that parse the format. */
TRACE_DEFINE_ENUM(MR_COMPACTION);
TRACE_DEFINE_ENUM(MR_MEMORY_FAILURE);
TRACE_DEFINE_ENUM(MR_MEMORY_HOTPLUG);
TRACE_DEFINE_ENUM(MR_SYSCALL);
TRACE_DEFINE_ENUM(MR_MEMPOLICY_MBIND);
TRACE_DEFINE_ENUM(MR_NUMA_MISPLACED);
TRACE_DEFINE_ENUM(MR_CONTIG_RANGE);
TRACE_DEFINE_ENUM(MR_LONGTERM_PIN);
TRACE_DEFINE_ENUM(MR_DEMOTION);
TRACE_DEFINE_ENUM(MR_DAMON);

/**
 * migrate_offload_batch - a batch handed to the migrator
 * @reason: enum migrate_reason of the migration
 * @nr: folios offered to the migrator
 * @bytes: their bytes
 * @copied: folios the migrator copied (after fault injection)
 * @ns: time spent in the migrator's copy callback
 * @ret: what the callback returned (0 or -errno)
 */
TRACE_EVENT(migrate_offload_batch,
	    TP_PROTO(int reason, unsigned int nr, size_t bytes, unsigned int copied,
		     u64 ns, int ret),
	    TP_ARGS(reason, nr, bytes, copied, ns, ret),
	    TP_STRUCT__entry(__field(int, reason)
			     __field(unsigned int, nr)
			     __field(size_t, bytes)
			     __field(unsigned int, copied)
			     __field(u64, ns)
			     __field(int, ret)),
	    TP_fast_assign(__entry->reason = reason;
			   __entry->nr = nr;
			   __entry->bytes = bytes;
			   __entry->copied = copied;
			   __entry->ns = ns;
			   __entry->ret = ret;),
	    TP_printk("reason=%s folios=%u bytes=%zu copied=%u ns=%llu ret=%d",
		      __print_symbolic(__entry->reason,
				       { MR_COMPACTION, "compaction" },
				       { MR_MEMORY_FAILURE, "memory_failure" },
				       { MR_MEMORY_HOTPLUG, "memory_hotplug" },
				       { MR_SYSCALL, "syscall_or_cpuset" },
				       { MR_MEMPOLICY_MBIND, "mempolicy_mbind" },
				       { MR_NUMA_MISPLACED, "numa_misplaced" },
				       { MR_CONTIG_RANGE, "contig_range" },
				       { MR_LONGTERM_PIN, "longterm_pin" },
				       { MR_DEMOTION, "demotion" },
				       { MR_DAMON, "damon" }),
		      __entry->nr, __entry->bytes, __entry->copied, __entry->ns,
		      __entry->ret)
);

/**
 * migrate_offload_phases - where one migrate_pages_batch() call spent its time
 * @reason: enum migrate_reason of the migration
 * @nr: folios that reached the move phase
 * @unmap_ns: allocating, locking and unmapping the folios, and the TLB flush
 * @copy_ns: the migrator's batch copy (about 0 when nothing was offloaded)
 * @move_ns: moving each folio, with the CPU copy of those no migrator
 *	copied, and remapping
 *
 * For measuring: the timestamps are taken only while this event is on.
 */
TRACE_EVENT(migrate_offload_phases,
	    TP_PROTO(int reason, unsigned int nr, u64 unmap_ns, u64 copy_ns, u64 move_ns),
	    TP_ARGS(reason, nr, unmap_ns, copy_ns, move_ns),
	    TP_STRUCT__entry(__field(int, reason)
			     __field(unsigned int, nr)
			     __field(u64, unmap_ns)
			     __field(u64, copy_ns)
			     __field(u64, move_ns)),
	    TP_fast_assign(__entry->reason = reason;
			   __entry->nr = nr;
			   __entry->unmap_ns = unmap_ns;
			   __entry->copy_ns = copy_ns;
			   __entry->move_ns = move_ns;),
	    TP_printk("reason=%s folios=%u unmap_ns=%llu copy_ns=%llu move_ns=%llu",
		      __print_symbolic(__entry->reason,
				       { MR_COMPACTION, "compaction" },
				       { MR_MEMORY_FAILURE, "memory_failure" },
				       { MR_MEMORY_HOTPLUG, "memory_hotplug" },
				       { MR_SYSCALL, "syscall_or_cpuset" },
				       { MR_MEMPOLICY_MBIND, "mempolicy_mbind" },
				       { MR_NUMA_MISPLACED, "numa_misplaced" },
				       { MR_CONTIG_RANGE, "contig_range" },
				       { MR_LONGTERM_PIN, "longterm_pin" },
				       { MR_DEMOTION, "demotion" },
				       { MR_DAMON, "damon" }),
		      __entry->nr, __entry->unmap_ns, __entry->copy_ns, __entry->move_ns)
);

#endif /* _TRACE_MIGRATE_OFFLOAD_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
