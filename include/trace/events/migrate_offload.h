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
				       { MR_MEMORY_HOTPLUG, "hotplug" },
				       { MR_SYSCALL, "syscall" },
				       { MR_MEMPOLICY_MBIND, "mbind" },
				       { MR_NUMA_MISPLACED, "numa_misplaced" },
				       { MR_CONTIG_RANGE, "contig_range" },
				       { MR_LONGTERM_PIN, "longterm_pin" },
				       { MR_DEMOTION, "demotion" },
				       { MR_DAMON, "damon" }),
		      __entry->nr, __entry->bytes, __entry->copied, __entry->ns,
		      __entry->ret)
);

#endif /* _TRACE_MIGRATE_OFFLOAD_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
