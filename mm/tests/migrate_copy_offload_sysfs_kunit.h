/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of the migration copy offload policy: parsing and formatting
 * of "reasons", the threshold, and the intersection with what the migrator
 * is for.  Included at the end of mm/migrate_copy_offload_sysfs.c.
 */
#ifndef _MIGRATE_COPY_OFFLOAD_SYSFS_KUNIT_H
#define _MIGRATE_COPY_OFFLOAD_SYSFS_KUNIT_H

#include <kunit/test.h>
#include <linux/huge_mm.h>

#define SENTINEL	0xdeadUL

static int parse(const char *s, unsigned long *mask)
{
	return migrate_offload_parse_reasons(s, strlen(s), mask);
}

/* Each name alone, with and without the newline echo(1) adds. */
static void test_parse_each_name(struct kunit *test)
{
	char line[32];
	int r;

	for (r = 0; r < MR_TYPES; r++) {
		unsigned long mask = SENTINEL;
		int expect = r == MR_MEMORY_FAILURE ? -EINVAL : 0;

		KUNIT_EXPECT_EQ_MSG(test, parse(migrate_reason_names[r], &mask), expect,
				    "%s", migrate_reason_names[r]);
		KUNIT_EXPECT_EQ(test, mask, expect ? SENTINEL : BIT(r));
		snprintf(line, sizeof(line), "%s\n", migrate_reason_names[r]);
		mask = SENTINEL;
		KUNIT_EXPECT_EQ(test, parse(line, &mask), expect);
		KUNIT_EXPECT_EQ(test, mask, expect ? SENTINEL : BIT(r));
	}
}

static void test_parse_all_none(struct kunit *test)
{
	static const char * const all[] = { "all", "all\n", " all", "\tall  " };
	static const char * const none[] = { "none", "none\n", "  none\t" };
	unsigned long mask;
	int i;

	for (i = 0; i < ARRAY_SIZE(all); i++) {
		mask = SENTINEL;
		KUNIT_EXPECT_EQ(test, parse(all[i], &mask), 0);
		KUNIT_EXPECT_EQ(test, mask, MIGRATE_OFFLOAD_ALLOWED_REASONS);
		KUNIT_EXPECT_FALSE(test, mask & BIT(MR_MEMORY_FAILURE));
	}
	for (i = 0; i < ARRAY_SIZE(none); i++) {
		mask = SENTINEL;
		KUNIT_EXPECT_EQ(test, parse(none[i], &mask), 0);
		KUNIT_EXPECT_EQ(test, mask, 0UL);
	}
}

static void test_parse_lists(struct kunit *test)
{
	unsigned long mask;

	KUNIT_EXPECT_EQ(test, parse("syscall_or_cpuset demotion\n", &mask), 0);
	KUNIT_EXPECT_EQ(test, mask, BIT(MR_SYSCALL) | BIT(MR_DEMOTION));
	KUNIT_EXPECT_EQ(test, parse("  damon\t\tmempolicy_mbind  ", &mask), 0);
	KUNIT_EXPECT_EQ(test, mask, BIT(MR_DAMON) | BIT(MR_MEMPOLICY_MBIND));
	/* Duplicates are harmless. */
	KUNIT_EXPECT_EQ(test, parse("demotion demotion demotion", &mask), 0);
	KUNIT_EXPECT_EQ(test, mask, BIT(MR_DEMOTION));
	KUNIT_EXPECT_EQ(test, parse("compaction memory_hotplug contig_range longterm_pin\n",
				    &mask), 0);
	KUNIT_EXPECT_EQ(test, mask, BIT(MR_COMPACTION) | BIT(MR_MEMORY_HOTPLUG) |
			BIT(MR_CONTIG_RANGE) | BIT(MR_LONGTERM_PIN));
}

/* Every bad write is refused and leaves the value alone. */
static void test_parse_refused(struct kunit *test)
{
	static const char * const bad[] = {
		"", "\n", " ", "\t\n", "foo", "damon foo", "DAMON", "dam on",
		"memory_failure", "damon memory_failure", "all damon", "none damon",
		"all none", "none none", "damon\n\n", "\ndamon", "damon,demotion",
		"\x01", "damon\x7f", "\xff\xfe", "damon\r\n", "all\x1b[0m",
		/* Not the kernel's names: migrate_reason_names[] has no such entry. */
		"syscall", "mbind", "hotplug", "cpuset",
	};
	char big[MIGRATE_OFFLOAD_REASONS_MAX_LEN + 16];
	unsigned long mask;
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		mask = SENTINEL;
		KUNIT_EXPECT_EQ_MSG(test, parse(bad[i], &mask), -EINVAL, "case %d", i);
		KUNIT_EXPECT_EQ(test, mask, SENTINEL);
	}
	/* A NUL inside the write. */
	mask = SENTINEL;
	KUNIT_EXPECT_EQ(test, migrate_offload_parse_reasons("dam\0on", 6, &mask), -EINVAL);
	KUNIT_EXPECT_EQ(test, mask, SENTINEL);
	/* Overlong, even when made of valid names. */
	memset(big, 0, sizeof(big));
	while (strlen(big) + 8 < sizeof(big))
		strcat(big, "damon ");
	mask = SENTINEL;
	KUNIT_EXPECT_EQ(test, parse(big, &mask), -EINVAL);
	KUNIT_EXPECT_EQ(test, mask, SENTINEL);
}

/*
 * The documented names, in the documented order: those of the kernel's
 * migrate_reason_names[] (and of the mm_migrate_pages event).
 */
static const char * const names_in_order[] = {
	"compaction", "memory_hotplug", "syscall_or_cpuset", "mempolicy_mbind",
	"numa_misplaced", "contig_range", "longterm_pin", "demotion", "damon",
};

/* Formatting, and parse(format(mask)) == mask for every allowed mask. */
static void test_format_round_trip(struct kunit *test)
{
	char *buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	char *all = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	unsigned long mask, back;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_NOT_NULL(test, all);
	for (i = 0; i < ARRAY_SIZE(names_in_order); i++) {
		if (i)
			strcat(all, " ");
		strcat(all, names_in_order[i]);
	}
	strcat(all, "\n");
	migrate_offload_format_reasons(0, buf);
	KUNIT_EXPECT_STREQ(test, buf, "none\n");
	migrate_offload_format_reasons(BIT(MR_DEMOTION) | BIT(MR_SYSCALL), buf);
	KUNIT_EXPECT_STREQ(test, buf, "syscall_or_cpuset demotion\n");
	migrate_offload_format_reasons(MIGRATE_OFFLOAD_ALLOWED_REASONS, buf);
	KUNIT_EXPECT_STREQ(test, buf, all);

	for (mask = 0; mask < BIT(MR_TYPES); mask++) {
		if (mask & ~MIGRATE_OFFLOAD_ALLOWED_REASONS)
			continue;
		memset(buf, 0, PAGE_SIZE);
		migrate_offload_format_reasons(mask, buf);
		back = SENTINEL;
		KUNIT_EXPECT_EQ_MSG(test, parse(buf, &back), 0, "mask %#lx: %s", mask, buf);
		KUNIT_EXPECT_EQ(test, back, mask);
	}
}

/* The effective set: admin and migrator, never memory failure. */
static void test_effective_reasons(struct kunit *test)
{
	const unsigned long every = BIT(MR_TYPES) - 1;
	const unsigned long mf = BIT(MR_MEMORY_FAILURE);
	const unsigned long dem = BIT(MR_DEMOTION);

	KUNIT_EXPECT_EQ(test, migrate_offload_effective_reasons(every, dem), dem);
	KUNIT_EXPECT_EQ(test, migrate_offload_effective_reasons(BIT(MR_SYSCALL), dem), 0UL);
	KUNIT_EXPECT_EQ(test, migrate_offload_effective_reasons(every, every),
			MIGRATE_OFFLOAD_ALLOWED_REASONS);
	KUNIT_EXPECT_EQ(test, migrate_offload_effective_reasons(mf, mf), 0UL);
	KUNIT_EXPECT_EQ(test, migrate_offload_effective_reasons(0, every), 0UL);
}

static void test_threshold(struct kunit *test)
{
	KUNIT_EXPECT_FALSE(test, migrate_offload_batch_big_enough(0, 0));
	KUNIT_EXPECT_TRUE(test, migrate_offload_batch_big_enough(PAGE_SIZE, 0));
	KUNIT_EXPECT_FALSE(test, migrate_offload_batch_big_enough(SZ_16K, SZ_64K));
	KUNIT_EXPECT_TRUE(test, migrate_offload_batch_big_enough(SZ_64K, SZ_64K));
	KUNIT_EXPECT_TRUE(test, migrate_offload_batch_big_enough(SZ_2M, SZ_64K));
	KUNIT_EXPECT_FALSE(test, migrate_offload_batch_big_enough(SZ_2M, SZ_4M));
}

/* The largest threshold is the largest batch migrate_pages() can build. */
static void test_max_batch_bytes(struct kunit *test)
{
	unsigned long max = MIGRATE_OFFLOAD_MAX_BATCH_BYTES, val = SENTINEL;
	char s[32];

	/* 511 base pages and a THP */
	if (IS_ENABLED(CONFIG_X86_64) && IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE))
		KUNIT_EXPECT_EQ(test, max, SZ_4M - PAGE_SIZE);
	snprintf(s, sizeof(s), "%lu", max);
	KUNIT_EXPECT_EQ(test, migrate_offload_parse_min_batch(s, strlen(s), &val), 0);
	KUNIT_EXPECT_EQ(test, val, max);
	val = SENTINEL;
	snprintf(s, sizeof(s), "%lu", max + 1);
	KUNIT_EXPECT_EQ(test, migrate_offload_parse_min_batch(s, strlen(s), &val), -ERANGE);
	KUNIT_EXPECT_EQ(test, val, SENTINEL);
}

/*
 * "reasons" reads back what the admin wrote, whatever the migrator is for;
 * "effective_reasons" is the part a migrator is offered (none without one).
 */
static void test_reasons_round_trip(struct kunit *test)
{
	static const char * const writes[] = {
		"compaction\n", "demotion damon\n", "none\n", "memory_hotplug longterm_pin\n",
	};
	unsigned long saved = READ_ONCE(migrate_offload_reasons);
	char *buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	migrate_offload_show_migrator(buf);
	if (strcmp(buf, "none\n"))
		kunit_skip(test, "a migrator is registered");
	for (i = 0; i < ARRAY_SIZE(writes); i++) {
		size_t len = strlen(writes[i]);

		KUNIT_EXPECT_EQ(test, reasons_store(NULL, NULL, writes[i], len), (ssize_t)len);
		memset(buf, 0, PAGE_SIZE);
		reasons_show(NULL, NULL, buf);
		KUNIT_EXPECT_STREQ(test, buf, writes[i]);
		memset(buf, 0, PAGE_SIZE);
		effective_reasons_show(NULL, NULL, buf);
		KUNIT_EXPECT_STREQ(test, buf, "none\n");
	}
	migrate_offload_set_reasons(saved);
}

static void test_parse_min_batch(struct kunit *test)
{
	static const struct { const char *s; int ret; unsigned long val; } cases[] = {
		{ "0", 0, 0 }, { "65536\n", 0, SZ_64K }, { "0x10000", 0, SZ_64K },
		{ "1073741824", -ERANGE, 0 },
		{ "99999999999999999999999", -ERANGE, 0 }, { "-1", -EINVAL, 0 },
		{ "", -EINVAL, 0 }, { "abc", -EINVAL, 0 }, { "12abc", -EINVAL, 0 },
		{ " 12", -EINVAL, 0 }, { "1 2", -EINVAL, 0 }, { "\x01", -EINVAL, 0 },
	};
	/* sysfs hands over all the bytes written, NULs included. */
	static const char nul[] = "7\0\x05junk";
	unsigned long val = SENTINEL;
	int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		val = SENTINEL;
		KUNIT_EXPECT_EQ_MSG(test, migrate_offload_parse_min_batch(cases[i].s,
									  strlen(cases[i].s), &val),
				    cases[i].ret, "case %d", i);
		if (cases[i].ret)
			KUNIT_EXPECT_EQ(test, val, SENTINEL);
		else
			KUNIT_EXPECT_EQ(test, val, cases[i].val);
	}
	val = SENTINEL;
	KUNIT_EXPECT_EQ(test, migrate_offload_parse_min_batch(nul, sizeof(nul) - 1, &val), -EINVAL);
	KUNIT_EXPECT_EQ(test, val, SENTINEL);
}

static struct kunit_case migrate_offload_policy_cases[] = {
	KUNIT_CASE(test_parse_each_name),
	KUNIT_CASE(test_parse_all_none),
	KUNIT_CASE(test_parse_lists),
	KUNIT_CASE(test_parse_refused),
	KUNIT_CASE(test_format_round_trip),
	KUNIT_CASE(test_effective_reasons),
	KUNIT_CASE(test_threshold),
	KUNIT_CASE(test_parse_min_batch),
	KUNIT_CASE(test_max_batch_bytes),
	KUNIT_CASE(test_reasons_round_trip),
	{},
};

static struct kunit_suite migrate_offload_policy_suite = {
	.name = "migrate_copy_offload_policy",
	.test_cases = migrate_offload_policy_cases,
};

kunit_test_suite(migrate_offload_policy_suite);

#endif /* _MIGRATE_COPY_OFFLOAD_SYSFS_KUNIT_H */
