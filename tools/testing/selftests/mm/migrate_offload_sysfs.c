// SPDX-License-Identifier: GPL-2.0
/*
 * The admin interface of migration copy offload,
 * /sys/kernel/mm/migrate_offload/: good writes read back as documented, and
 * every bad write (random bytes, unknown names, numbers out of range, control
 * bytes, writes to the read-only file, writes by non-root) is refused and
 * leaves every value as it was.
 *
 * Needs root and CONFIG_MIGRATION_COPY_OFFLOAD; skips otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "migrate_helpers.h"

#define DIR		"/sys/kernel/mm/migrate_offload/"
#define MIGRATOR	DIR "migrator"
#define REASONS		DIR "reasons"
#define EFFECTIVE	DIR "effective_reasons"
#define MIN_BATCH	DIR "min_batch_bytes"
#define HOSTILE_WRITES	1200

/* The kernel's names (migrate_reason_names[]), in enum migrate_reason order. */
static const char * const names[] = {
	"compaction", "memory_hotplug", "syscall_or_cpuset", "mempolicy_mbind",
	"numa_misplaced", "contig_range", "longterm_pin", "demotion", "damon",
};

#define ALL_NAMES "compaction memory_hotplug syscall_or_cpuset mempolicy_mbind " \
		  "numa_misplaced contig_range longterm_pin demotion damon\n"
#define BULK_NAMES "syscall_or_cpuset mempolicy_mbind numa_misplaced demotion damon\n"

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* Returns 0 or -errno of the write. */
static int write_bytes(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, data, len);
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

static int write_str(const char *path, const char *s)
{
	return write_bytes(path, s, strlen(s));
}

struct state {
	char migrator[64], reasons[512], min_batch[64];
};

static void read_state(struct __test_metadata *_metadata, struct state *s)
{
	ASSERT_EQ(read_file(MIGRATOR, s->migrator, sizeof(s->migrator)), 0);
	ASSERT_EQ(read_file(REASONS, s->reasons, sizeof(s->reasons)), 0);
	ASSERT_EQ(read_file(MIN_BATCH, s->min_batch, sizeof(s->min_batch)), 0);
}

FIXTURE(sysfs)
{
	struct state saved;
};

FIXTURE_SETUP(sysfs)
{
	migrate_test_clock_start();
	if (geteuid())
		SKIP(return, "needs root");
	if (access(DIR, F_OK))
		SKIP(return, "no " DIR ": CONFIG_MIGRATION_COPY_OFFLOAD is off");
	/* The tests load the test migrator themselves where they need one. */
	if (system("rmmod test_migrate_offload 2>/dev/null") < 0 ||
	    system("rmmod migrate_mtcopy 2>/dev/null") < 0)
		SKIP(return, "cannot run rmmod");
	read_state(_metadata, &self->saved);
	if (strcmp(self->saved.migrator, "none\n"))
		SKIP(return, "a migrator is registered and cannot be unloaded");
}

FIXTURE_TEARDOWN(sysfs)
{
	if (self->saved.reasons[0]) {
		write_str(REASONS, self->saved.reasons);
		write_str(MIN_BATCH, self->saved.min_batch);
	}
	migrate_test_clock_report(_metadata);
}

TEST_F(sysfs, defaults)
{
	char buf[512];

	ASSERT_EQ(read_file(MIGRATOR, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "none\n");
	ASSERT_EQ(read_file(REASONS, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, BULK_NAMES);
	ASSERT_EQ(read_file(EFFECTIVE, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "none\n");
	ASSERT_EQ(read_file(MIN_BATCH, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "262144\n");
}

TEST_F(sysfs, good_writes)
{
	char buf[512], want[64];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		ASSERT_EQ(write_str(REASONS, names[i]), 0);
		ASSERT_EQ(read_file(REASONS, buf, sizeof(buf)), 0);
		snprintf(want, sizeof(want), "%s\n", names[i]);
		ASSERT_STREQ(buf, want);
	}
	ASSERT_EQ(write_str(REASONS, "all\n"), 0);
	ASSERT_EQ(read_file(REASONS, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, ALL_NAMES);
	ASSERT_EQ(write_str(REASONS, "none\n"), 0);
	ASSERT_EQ(read_file(REASONS, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "none\n");
	/* Any order and spacing; read back in the fixed order. */
	ASSERT_EQ(write_str(REASONS, "  damon\tsyscall_or_cpuset demotion damon\n"), 0);
	ASSERT_EQ(read_file(REASONS, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "syscall_or_cpuset demotion damon\n");

	ASSERT_EQ(write_str(MIN_BATCH, "0\n"), 0);
	ASSERT_EQ(read_file(MIN_BATCH, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "0\n");
	ASSERT_EQ(write_str(MIN_BATCH, "0x10000"), 0);
	ASSERT_EQ(read_file(MIN_BATCH, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "65536\n");
	/* Up to the largest batch migrate_pages() can build, and no more. */
	if (migrate_offload_max_batch_bytes()) {
		snprintf(want, sizeof(want), "%lu\n", migrate_offload_max_batch_bytes());
		ASSERT_EQ(write_str(MIN_BATCH, want), 0);
		ASSERT_EQ(read_file(MIN_BATCH, buf, sizeof(buf)), 0);
		ASSERT_STREQ(buf, want);
		snprintf(want, sizeof(want), "%lu\n", migrate_offload_max_batch_bytes() + 1);
		ASSERT_EQ(write_str(MIN_BATCH, want), -ERANGE);
	}
}

/*
 * "reasons" reads back what was written, with or without a migrator and
 * whatever it is meant for; "effective_reasons" shows what is offloaded:
 * nothing without a migrator, and only the reasons the migrator declares.
 * The test migrator declares the bulk placement moves, not compaction.
 */
TEST_F(sysfs, reasons_round_trip)
{
	char buf[512];

	ASSERT_EQ(write_str(REASONS, "compaction memory_hotplug\n"), 0);
	ASSERT_EQ(read_file(REASONS, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "compaction memory_hotplug\n");
	ASSERT_EQ(read_file(EFFECTIVE, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "none\n");

	if (system("modprobe test_migrate_offload 2>/dev/null"))
		SKIP(return, "the test_migrate_offload module is not available");
	ASSERT_EQ(read_file(MIGRATOR, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "test_migrate_offload\n");
	ASSERT_EQ(read_file(REASONS, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "compaction memory_hotplug\n");
	ASSERT_EQ(read_file(EFFECTIVE, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "none\n");

	ASSERT_EQ(write_str(REASONS, "compaction demotion\n"), 0);
	ASSERT_EQ(read_file(REASONS, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "compaction demotion\n");
	ASSERT_EQ(read_file(EFFECTIVE, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "demotion\n");

	ASSERT_EQ(write_str(REASONS, "all\n"), 0);
	ASSERT_EQ(read_file(REASONS, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, ALL_NAMES);
	ASSERT_EQ(read_file(EFFECTIVE, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, BULK_NAMES);
	ASSERT_NE(write_str(EFFECTIVE, "all\n"), 0);
	ASSERT_EQ(system("rmmod test_migrate_offload"), 0);
}

/* One bad write of a random kind into @b; returns its length. */
static size_t hostile(char *b, size_t size, const char **target)
{
	static const char * const bad_reasons[] = {
		"memory_failure", "all damon", "none damon", "DAMON", "demotion,damon",
		"dam on", "\n", "", " ", "damon\n\n", "damon\r", "all all",
		"numa-misplaced", "demotion\x01", "contig_range longterm_pin foo",
		/* Names the kernel does not use for its reasons. */
		"syscall", "mbind", "hotplug", "cpuset", "syscall_or_cpuset mbind",
	};
	static const char * const bad_numbers[] = {
		"-1", "1073741825", "18446744073709551616", "0x", "12k", " 1", "1 2",
		"", "\n", "nan", "+-3", "0x40000001", "99999999999999999999999999",
	};
	size_t len, i;

	switch (rand() % 5) {
	case 0:	/* random bytes, with at least one control byte */
		len = 1 + rand() % (size - 1);
		for (i = 0; i < len; i++)
			b[i] = rand() % 256;
		b[rand() % len] = 1 + rand() % 8;
		*target = rand() % 2 ? REASONS : MIN_BATCH;
		return len;
	case 1:	/* overlong, made of valid names */
		len = 0;
		while (len + 9 < size && len < 300 + (size_t)(rand() % 200))
			len += snprintf(b + len, size - len, "damon ");
		*target = REASONS;
		return len;
	case 2:
		i = rand() % ARRAY_SIZE(bad_reasons);
		*target = REASONS;
		return snprintf(b, size, "%s", bad_reasons[i]);
	case 3:
		i = rand() % ARRAY_SIZE(bad_numbers);
		*target = MIN_BATCH;
		return snprintf(b, size, "%s", bad_numbers[i]);
	default:	/* anything into a read-only file */
		*target = rand() % 2 ? MIGRATOR : EFFECTIVE;
		return snprintf(b, size, "%s", rand() % 2 ? "evil" : "none");
	}
}

TEST_F(sysfs, hostile_writes)
{
	struct state before, after;
	char buf[1024];
	int i, refused = 0;

	srand(getpid());
	ASSERT_EQ(write_str(REASONS, "syscall_or_cpuset demotion"), 0);
	ASSERT_EQ(write_str(MIN_BATCH, "12345"), 0);
	read_state(_metadata, &before);
	for (i = 0; i < HOSTILE_WRITES; i++) {
		const char *target;
		size_t len = hostile(buf, sizeof(buf), &target);
		int ret = write_bytes(target, buf, len);

		/* A zero-length write never reaches the kernel's parser. */
		if (len)
			ASSERT_NE(ret, 0)
				TH_LOG("write %d of %zu bytes to %s was accepted", i, len, target);
		refused += ret != 0;
		read_state(_metadata, &after);
		ASSERT_STREQ(after.reasons, before.reasons)
			TH_LOG("write %d changed reasons", i);
		ASSERT_STREQ(after.min_batch, before.min_batch)
			TH_LOG("write %d changed min_batch_bytes", i);
		ASSERT_STREQ(after.migrator, before.migrator);
	}
	TH_LOG("%d hostile writes, %d refused", HOSTILE_WRITES, refused);
	ASSERT_GE(refused, HOSTILE_WRITES * 9 / 10);
}

TEST_F(sysfs, non_root_refused)
{
	struct state before, after;
	int status;
	pid_t pid;

	read_state(_metadata, &before);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		if (write_str(REASONS, "all") != -EACCES)
			_exit(1);
		if (write_str(MIN_BATCH, "0") != -EACCES)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
	read_state(_metadata, &after);
	ASSERT_STREQ(after.reasons, before.reasons);
	ASSERT_STREQ(after.min_batch, before.min_batch);
}

TEST_HARNESS_MAIN
