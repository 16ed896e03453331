// SPDX-License-Identifier: GPL-2.0
/*
 * Migration copy offload keeps arm64 MTE allocation tags.  A PROT_MTE
 * buffer, a non-zero tag on every 16-byte granule and a pattern
 * in every word written through the tagged pointers, moves between two
 * nodes with move_pages(2) while the multi-threaded CPU migrator
 * (migrate_mtcopy) copies the data.  After every move every tag must read
 * back (LDG) as written and every word must load, through its tagged
 * pointer, with synchronous tag checking on: a tag lost on the way is a
 * tag check fault (SEGV_MTESERR) for the task.  /proc/vmstat must show that
 * the migrator copied every folio.  The same moves with the migrator kept
 * out (its reason not allowed) are the control: the CPU copy of
 * copy_highpage() carries the tags.
 *
 * Under QEMU 7.2's TCG (Debian 12) this test also passes with the core's
 * metadata copy removed: there, the tags a task reads back do not follow
 * its pages to their new physical addresses as they do on hardware.  The
 * KUnit case test_page_metadata, which checks the destination pages' flags
 * and tags in the kernel, fails then.
 *
 * Needs an arm64 machine with MTE, root, two memory nodes and the module;
 * skips otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "migrate_helpers.h"

#ifndef PROT_MTE
#define PROT_MTE		0x20
#endif
#ifndef HWCAP2_MTE
#define HWCAP2_MTE		0x40000UL
#endif
#ifndef PR_SET_TAGGED_ADDR_CTRL
#define PR_SET_TAGGED_ADDR_CTRL	55
#define PR_TAGGED_ADDR_ENABLE	1UL
#endif
#ifndef PR_MTE_TCF_SYNC
#define PR_MTE_TCF_SYNC		2UL
#endif
#ifndef PR_MTE_TAG_SHIFT
#define PR_MTE_TAG_SHIFT	3
#endif
#ifndef SEGV_MTESERR
#define SEGV_MTESERR		9
#endif

#define MCO_DIR		"/sys/kernel/mm/migrate_offload/"
#define REASONS		MCO_DIR "reasons"
#define MIN_BATCH	MCO_DIR "min_batch_bytes"
#define GRANULE		16
#define TAG_SHIFT	56
#define NR_PASSES	4
#define BUF_SIZE	(4UL << 20)

static unsigned long granules_per_page;

/*
 * The tag of granule @g in pass @pass: never 0, which is what a lost tag
 * reads as, and different from page to page.  Within a page the even and
 * the odd granules share a tag: under TCG, Debian 12's QEMU 7.2 keeps the
 * allocation tags of a page in one byte (every even granule of a page
 * reads back the tag last stored to any even granule of it, every odd one
 * likewise; seen with a probe that stores eight tags and loads them back),
 * so a pattern with more tags per page would fail there on a correct
 * kernel.  A lost tag, or one from another page, still fails it.
 */
static unsigned int granule_tag(unsigned long g, unsigned int pass)
{
	unsigned long page = g / granules_per_page;

	return 1 + ((2 * page + (g & 1)) * 7 + pass) % 15;
}

static void *with_tag(void *p, unsigned int tag)
{
	uintptr_t a = (uintptr_t)p & ~(0xfUL << TAG_SHIFT);

	return (void *)(a | (uintptr_t)tag << TAG_SHIFT);
}

#ifdef __aarch64__
/*
 * The MTE instructions by their encodings, so that no -march option is
 * needed: STG x0, [x0] and LDG x0, [x0].
 */
#define STG_X0_X0	".inst 0xd9200800"
#define LDG_X0_X0	".inst 0xd9600000"

/* STG: set the allocation tag of the granule at @p to the tag in @p. */
static void store_tag(void *p)
{
	asm volatile("mov x0, %0\n\t" STG_X0_X0 : : "r" (p) : "x0", "memory");
}

/* LDG: the allocation tag of the granule at @p. */
static unsigned int load_tag(void *p)
{
	uintptr_t q;

	asm volatile("mov x0, %1\n\t" LDG_X0_X0 "\n\tmov %0, x0"
		     : "=r" (q) : "r" (p) : "x0", "memory");
	return (q >> TAG_SHIFT) & 0xf;
}
#else
static void store_tag(void *p)
{
}

static unsigned int load_tag(void *p)
{
	return 0;
}
#endif

static bool mte_available(void)
{
#ifdef __aarch64__
	return getauxval(AT_HWCAP2) & HWCAP2_MTE;
#else
	return false;
#endif
}

/* Tag every granule and write every word through its tagged pointer. */
static void tag_and_fill(char *buf, size_t size, unsigned int pass)
{
	unsigned long g;

	for (g = 0; g < size / GRANULE; g++) {
		uint64_t *p = with_tag(buf + g * GRANULE, granule_tag(g, pass));

		store_tag(p);
		p[0] = migrate_pattern(2 * g, pass);
		p[1] = migrate_pattern(2 * g + 1, pass);
	}
}

/* The state check_tags() needs back after a fault: statics, not locals. */
static sigjmp_buf fault_jmp;
static int fault_code;
static unsigned long fault_granule;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	fault_code = si->si_code;
	siglongjmp(fault_jmp, 1);
}

/*
 * Check every granule: its tag, then its words loaded through the tagged
 * pointer.  Returns -1 if all is well, else the first bad granule, with
 * what was wrong in @what.
 */
static long check_tags(char *buf, size_t size, unsigned int pass, char *what, size_t len)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO }, old;
	unsigned long g;
	long bad = -1;

	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(fault_jmp, 1)) {
		snprintf(what, len, "a load through the tagged pointer faulted (si_code %d%s)",
			 fault_code, fault_code == SEGV_MTESERR ? ": SEGV_MTESERR" : "");
		bad = fault_granule;
		goto out;
	}
	for (g = 0; g < size / GRANULE; g++) {
		unsigned int want = granule_tag(g, pass);
		unsigned int got = load_tag(buf + g * GRANULE);
		uint64_t *p = with_tag(buf + g * GRANULE, want);

		fault_granule = g;
		if (got != want) {
			snprintf(what, len, "tag %u, written %u", got, want);
			bad = g;
			break;
		}
		if (p[0] != migrate_pattern(2 * g, pass) ||
		    p[1] != migrate_pattern(2 * g + 1, pass)) {
			snprintf(what, len, "data corrupt");
			bad = g;
			break;
		}
	}
out:
	sigaction(SIGSEGV, &old, NULL);
	return bad;
}

FIXTURE(mte)
{
	int node[2];
	size_t page_size;
	struct migrate_offload_settings saved;
};

FIXTURE_VARIANT(mte)
{
	enum migrate_buf_kind kind;
	bool offload;		/* mtcopy copies, or the CPU does (control) */
};

FIXTURE_VARIANT_ADD(mte, mtcopy_base_pages)
{
	.kind = MIGRATE_BUF_ANON_4K,
	.offload = true,
};

FIXTURE_VARIANT_ADD(mte, mtcopy_thp)
{
	.kind = MIGRATE_BUF_ANON_THP,
	.offload = true,
};

FIXTURE_VARIANT_ADD(mte, cpu_base_pages)
{
	.kind = MIGRATE_BUF_ANON_4K,
	.offload = false,
};

FIXTURE_SETUP(mte)
{
	unsigned long ctrl = PR_TAGGED_ADDR_ENABLE | PR_MTE_TCF_SYNC |
			     (0xfffeUL << PR_MTE_TAG_SHIFT);

	migrate_test_clock_start();
	if (!mte_available())
		SKIP(return, "no MTE (needs arm64 with MTE; QEMU: -machine virt,mte=on -cpu max)");
	if (geteuid())
		SKIP(return, "needs root (modprobe)");
	if (two_nodes(&self->node[0], &self->node[1]))
		SKIP(return, "needs two memory nodes");
	if (mtcopy_load())
		SKIP(return, "the migrate_mtcopy module is not available");
	ASSERT_EQ(prctl(PR_SET_TAGGED_ADDR_CTRL, ctrl, 0, 0, 0), 0)
		TH_LOG("cannot enable synchronous tag checks: %s", strerror(errno));
	self->page_size = getpagesize();
	granules_per_page = self->page_size / GRANULE;
	migrate_offload_save(&self->saved);
	ASSERT_EQ(write_string(MIN_BATCH, "65536"), 0);
	ASSERT_EQ(write_string(REASONS, variant->offload ? "syscall_or_cpuset" : "damon"), 0);
}

FIXTURE_TEARDOWN(mte)
{
	migrate_offload_restore(&self->saved);
	migrate_test_clock_report(_metadata);
}

TEST_F(mte, tags_survive_moves)
{
	struct migrate_buf b;
	unsigned long nr_pages, nr_folios;
	unsigned int pass;
	int *status;
	void **addr;
	char what[128];

	if (!migrate_buf_map_or_skip(_metadata, &b, variant->kind, BUF_SIZE))
		return;
	ASSERT_EQ(mprotect(b.buf, BUF_SIZE, PROT_READ | PROT_WRITE | PROT_MTE), 0)
		TH_LOG("mprotect(PROT_MTE): %s", strerror(errno));
	nr_pages = BUF_SIZE / self->page_size;
	nr_folios = BUF_SIZE / b.folio_size;
	status = calloc(nr_pages, sizeof(int));
	addr = migrate_addrs(b.buf, nr_folios, b.folio_size);
	ASSERT_NE(status, NULL);
	ASSERT_NE(addr, NULL);
	ASSERT_EQ(move_all(addr, nr_folios, self->node[0], status), 0);

	for (pass = 1; pass <= NR_PASSES; pass++) {
		int to = self->node[pass & 1];
		struct offload_vmstat c0, c1;
		unsigned long copied;
		long bad;

		tag_and_fill(b.buf, BUF_SIZE, pass);
		/* The tags are there before the move: else the test is wrong. */
		bad = check_tags(b.buf, BUF_SIZE, pass, what, sizeof(what));
		ASSERT_EQ(bad, -1)
			TH_LOG("pass %u, before the move: granule %ld: %s", pass, bad, what);
		read_offload_vmstat(&c0);
		ASSERT_EQ(move_all(addr, nr_folios, to, status), 0);
		read_offload_vmstat(&c1);
		ASSERT_EQ(pages_not_on(b.buf, nr_pages, to, self->page_size, status), 0);
		bad = check_tags(b.buf, BUF_SIZE, pass, what, sizeof(what));
		ASSERT_EQ(bad, -1)
			TH_LOG("pass %u: after moving to node %d, granule %ld (page %lu): %s",
			       pass, to, bad, bad * GRANULE / self->page_size, what);
		copied = c1.copied - c0.copied;
		TH_LOG("pass %u: %lu folios of %zu KB moved; %lu copied by mtcopy, %lu fallback",
		       pass, nr_folios, b.folio_size >> 10, copied, c1.fallback - c0.fallback);
		if (variant->offload) {
			ASSERT_GE(copied, nr_folios);
			ASSERT_EQ(c1.fallback - c0.fallback, 0);
		} else {
			ASSERT_EQ(copied, 0);
			ASSERT_GE(c1.skip_reason - c0.skip_reason, nr_folios);
		}
	}
	free(addr);
	free(status);
	migrate_buf_unmap(&b);
}

TEST_HARNESS_MAIN
