// SPDX-License-Identifier: GPL-2.0
/*
 * Migration copy offload: the admin interface, /sys/kernel/mm/migrate_offload/.
 *
 *   migrator           the active migrator's name, or "none" (read-only)
 *   reasons            the migrations the admin lets use a migrator, by the
 *                      names of migrate_reason_names[]
 *   effective_reasons  those the active migrator is also meant for: the ones
 *                      offloaded now (read-only)
 *   min_batch_bytes    batches with fewer eligible bytes are copied by the CPU
 *
 * See Documentation/ABI/testing/sysfs-kernel-mm-migrate_offload and
 * Documentation/admin-guide/mm/migrate_copy_offload.rst.
 */
#define pr_fmt(fmt) "migrate_offload: " fmt

#include <linux/ctype.h>
#include <linux/init.h>
#include <linux/kobject.h>
#include <linux/kstrtox.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "migrate_copy_offload_internal.h"

/* Longer writes cannot be a list of the names above. */
#define MIGRATE_OFFLOAD_REASONS_MAX_LEN	256

/**
 * migrate_offload_parse_reasons - parse a write to "reasons", or a migrator's own list
 * @buf: the text written: names of migrate_reason_names[] separated by
 *	blanks, or "all", or "none", optionally followed by a newline
 * @count: its length
 * @mask: the parsed mask of BIT(MR_*); changed only on success
 *
 * A name may repeat.  "all" means every reason that may be offloaded;
 * "memory_failure" is refused because it can never be.
 *
 * Return: 0, or -EINVAL for an unknown or refused name, an empty or
 * overlong write, a NUL or other control byte, or "all"/"none" mixed with
 * names.
 */
int migrate_offload_parse_reasons(const char *buf, size_t count, unsigned long *mask)
{
	char tmp[MIGRATE_OFFLOAD_REASONS_MAX_LEN + 1], *cur, *word;
	unsigned long parsed = 0;
	bool all = false, none = false;
	int words = 0;
	size_t i;

	if (!count || count > MIGRATE_OFFLOAD_REASONS_MAX_LEN)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		/* Blanks and one trailing newline only; no NUL, no controls. */
		if (buf[i] == '\n' && i == count - 1)
			break;
		if (buf[i] != ' ' && buf[i] != '\t' && !isgraph(buf[i]))
			return -EINVAL;
	}
	memcpy(tmp, buf, i);
	tmp[i] = '\0';

	cur = tmp;
	while ((word = strsep(&cur, " \t"))) {
		int r;

		if (!*word)
			continue;
		words++;
		if (!strcmp(word, "all")) {
			all = true;
			continue;
		}
		if (!strcmp(word, "none")) {
			none = true;
			continue;
		}
		r = match_string(migrate_reason_names, MR_TYPES, word);
		if (r < 0 || !(BIT(r) & MIGRATE_OFFLOAD_ALLOWED_REASONS))
			return -EINVAL;
		parsed |= BIT(r);
	}
	if (!words || ((all || none) && words > 1))
		return -EINVAL;
	if (all)
		parsed = MIGRATE_OFFLOAD_ALLOWED_REASONS;
	*mask = parsed;
	return 0;
}
EXPORT_SYMBOL_GPL(migrate_offload_parse_reasons);

/**
 * migrate_offload_format_reasons - print a mask of reasons for "reasons"
 * @mask: a mask of BIT(MR_*)
 * @buf: a sysfs buffer
 *
 * Return: the bytes written: the names in enum order separated by spaces,
 * or "none", and a newline.
 */
ssize_t migrate_offload_format_reasons(unsigned long mask, char *buf)
{
	ssize_t len = 0;
	int r;

	for (r = 0; r < MR_TYPES; r++)
		if (mask & BIT(r))
			len += sysfs_emit_at(buf, len, "%s%s", len ? " " : "",
					     migrate_reason_names[r]);
	if (!len)
		len = sysfs_emit(buf, "none");
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}

/**
 * migrate_offload_parse_min_batch - parse a write to "min_batch_bytes"
 * @buf: the text written: a number of bytes (decimal, or 0x hex)
 * @count: its length in bytes
 * @val: the parsed value; changed only on success
 *
 * Return: 0, -EINVAL for anything but a number (a NUL byte within @count
 * included), or -ERANGE for a number above MIGRATE_OFFLOAD_MAX_BATCH_BYTES
 * (no batch is larger).
 */
int migrate_offload_parse_min_batch(const char *buf, size_t count, unsigned long *val)
{
	unsigned long v;
	int ret;

	/* kstrtoul() would stop at a NUL and take "7\0junk" for 7. */
	if (strnlen(buf, count) != count)
		return -EINVAL;
	ret = kstrtoul(buf, 0, &v);
	if (ret)
		return ret;
	if (v > MIGRATE_OFFLOAD_MAX_BATCH_BYTES)
		return -ERANGE;
	*val = v;
	return 0;
}

static ssize_t migrator_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return migrate_offload_show_migrator(buf);
}

/* What the admin wrote, whatever the migrator: a write reads back as is. */
static ssize_t reasons_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return migrate_offload_format_reasons(READ_ONCE(migrate_offload_reasons), buf);
}

static ssize_t effective_reasons_show(struct kobject *kobj, struct kobj_attribute *attr,
				      char *buf)
{
	return migrate_offload_format_reasons(migrate_offload_effective_now(), buf);
}

static ssize_t reasons_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	unsigned long mask;
	int ret = migrate_offload_parse_reasons(buf, count, &mask);

	if (ret)
		return ret;
	migrate_offload_set_reasons(mask);
	return count;
}

static ssize_t min_batch_bytes_show(struct kobject *kobj, struct kobj_attribute *attr,
				    char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(migrate_offload_min_batch_bytes));
}

static ssize_t min_batch_bytes_store(struct kobject *kobj, struct kobj_attribute *attr,
				     const char *buf, size_t count)
{
	unsigned long val;
	int ret = migrate_offload_parse_min_batch(buf, count, &val);

	if (ret)
		return ret;
	WRITE_ONCE(migrate_offload_min_batch_bytes, val);
	return count;
}

static struct kobj_attribute migrator_attr = __ATTR_RO(migrator);
static struct kobj_attribute reasons_attr = __ATTR_RW_MODE(reasons, 0644);
static struct kobj_attribute effective_reasons_attr = __ATTR_RO(effective_reasons);
static struct kobj_attribute min_batch_bytes_attr = __ATTR_RW_MODE(min_batch_bytes, 0644);

static struct attribute *migrate_offload_attrs[] = {
	&migrator_attr.attr,
	&reasons_attr.attr,
	&effective_reasons_attr.attr,
	&min_batch_bytes_attr.attr,
	NULL,
};

static const struct attribute_group migrate_offload_attr_group = {
	.attrs = migrate_offload_attrs,
};

static int __init migrate_offload_sysfs_init(void)
{
	struct kobject *kobj;
	int ret;

	kobj = kobject_create_and_add("migrate_offload", mm_kobj);
	if (!kobj)
		return -ENOMEM;
	ret = sysfs_create_group(kobj, &migrate_offload_attr_group);
	if (ret) {
		pr_err("cannot create /sys/kernel/mm/migrate_offload: %d\n", ret);
		kobject_put(kobj);
	}
	return ret;
}
subsys_initcall(migrate_offload_sysfs_init);

#if IS_ENABLED(CONFIG_MIGRATION_COPY_OFFLOAD_KUNIT_TEST)
#include "tests/migrate_copy_offload_sysfs_kunit.h"
#endif
