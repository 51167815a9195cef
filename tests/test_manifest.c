/* test_manifest.c: the strict manifest loader. Every invalid fixture gives
 * exactly the diagnostics in its .expected file; the valid fixtures load
 * field by field; the value parsers and the file discovery rules hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/load/manifest.h"
#include "harness/harness.h"

#define INVALID_DIR FIXTURESDIR "/invalid"

/* The diags as `FILE:LINE:COL: error: MESSAGE` lines, as .expected holds them. */
static char *format_diags(const vf_diags *d)
{
	vf_buf b = { 0 };
	for (size_t i = 0; i < d->n; i++) {
		const vf_error *e = &d->items[i];
		if (e->pos.line > 0)
			vf_buf_printf(&b, "%s:%d:%d: error: %s\n", e->pos.file, e->pos.line, e->pos.col, e->message);
		else
			vf_buf_printf(&b, "%s: error: %s\n", e->pos.file, e->message);
	}
	return vf_buf_steal(&b);
}

/* Load one path relative to the current directory; returns the rc. */
static int load1(const char *path, vf_desired *d, vf_diags *diags)
{
	const char *paths[] = { path };
	return vf_manifest_load(paths, 1, d, diags);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* git may not keep the symlink case's link; make sure it is there. */
static void ensure_symlink_case(void)
{
	const char *link = INVALID_DIR "/symlink-escape/escape.yaml";
	struct stat st;
	if (lstat(link, &st) == 0)
		return;
	mkdir(INVALID_DIR "/symlink-escape", 0755);
	assert_int_equal(symlink("../../valid/pools.yaml", link), 0);
}

static void test_invalid_corpus(void **state)
{
	(void)state;
	ensure_symlink_case();
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(INVALID_DIR), 0);

	DIR *dir = opendir(".");
	assert_non_null(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		size_t l = strlen(e->d_name);
		if (l > 9 && strcmp(e->d_name + l - 9, ".expected") == 0) {
			char *name = vf_strndup(e->d_name, l - 9);
			VF_APPEND(names, n, cap, name);
		}
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), name_cmp);
	assert_true(n >= 45);

	size_t failed = 0;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *file = vf_asprintf("%s.yaml", names[i]);
		_cleanup_free_ char *exp_path = vf_asprintf("%s.expected", names[i]);
		struct stat st;
		const char *input = stat(file, &st) == 0 ? file : names[i];
		vf_desired d = { 0 };
		vf_diags diags = { 0 };
		int r = load1(input, &d, &diags);
		_cleanup_free_ char *got = format_diags(&diags);
		_cleanup_free_ char *want = vf_test_read_file(exp_path);
		assert_non_null(want);
		bool ok = r < 0 && diags.n > 0 && d.n == 0 && strcmp(got, want) == 0 &&
			  r == -(int)diags.items[0].code;
		if (!ok) {
			failed++;
			print_error("case %s (rc %d, %zu objects):\n--- expected\n%s--- got\n%s", names[i], r, d.n,
				    want, got);
		}
		vf_diags_free(&diags);
		vf_desired_free(&d);
		free(names[i]);
	}
	free(names);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(failed, 0);
}

/* Error codes by class: the CLI and the docs depend on these. */
static void test_invalid_codes(void **state)
{
	(void)state;
	static const struct { const char *name; vf_code code; } cases[] = {
		{ "bad-utf8.yaml", VF_E_SYNTAX },     { "nul-byte.yaml", VF_E_SYNTAX },
		{ "tab-indentation.yaml", VF_E_SYNTAX }, { "billion-laughs.yaml", VF_E_LIMIT },
		{ "deep-nesting.yaml", VF_E_LIMIT },   { "too-many-aliases.yaml", VF_E_LIMIT },
		{ "duplicate-volume.yaml", VF_E_DUPLICATE }, { "unknown-kind.yaml", VF_E_SCHEMA },
		{ "size-overflow.yaml", VF_E_SCHEMA },
	};
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(INVALID_DIR), 0);
	for (size_t i = 0; i < VF_ARRAY_SIZE(cases); i++) {
		vf_desired d = { 0 };
		vf_diags diags = { 0 };
		assert_int_equal(load1(cases[i].name, &d, &diags), -(int)cases[i].code);
		vf_diags_free(&diags);
		vf_desired_free(&d);
	}
	assert_int_equal(chdir(cwd), 0);
}

static const vf_object *find(const vf_desired *d, vf_kind kind, const char *pool, const char *name)
{
	const vf_object *o = vf_desired_find(d, kind, pool, name);
	if (!o)
		print_error("missing %s %s/%s\n", vf_kind_to_string(kind), pool ? pool : "", name);
	assert_non_null(o);
	return o;
}

static void assert_uuid(const uuid_t u, const char *want)
{
	char s[37];
	uuid_unparse_lower(u, s);
	assert_string_equal(s, want);
}

static void test_valid_fixtures(void **state)
{
	(void)state;
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(FIXTURESDIR), 0);
	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	int r = load1("valid/", &d, &diags);
	_cleanup_free_ char *got = format_diags(&diags);
	assert_string_equal(got, "");
	assert_int_equal(r, 0);
	/* hidden files, editor temporaries and README.txt are skipped; order is by path */
	assert_int_equal(d.n, 30);
	assert_int_equal(d.n_files, 11);
	static const char *const order[] = {
		"valid/domains/container.yaml", "valid/domains/minimal.yaml", "valid/domains/nested/deeper/db.yml",
		"valid/domains/styles.yaml", "valid/domains/targets.yaml", "valid/domains/web.yaml",
		"valid/networks.yaml", "valid/pools-remote.yml",
		"valid/pools.yaml", "valid/sizes.yml", "valid/volumes.yaml",
	};
	for (size_t i = 0; i < VF_ARRAY_SIZE(order); i++)
		assert_string_equal(d.files[i], order[i]);

	/* Network lab: every network field, addresses in canonical form */
	const vf_object *n = find(&d, VF_KIND_NETWORK, NULL, "lab");
	const vf_net_def *nd = &n->u.network.def;
	assert_int_equal(nd->forward, VF_NET_NAT);
	assert_string_equal(nd->bridge, "virbr-lab");
	assert_int_equal(nd->stp, VF_TRI_TRUE);
	assert_true(nd->has_delay && nd->delay == 0);
	assert_true(nd->has_mtu && nd->mtu == 1500);
	assert_string_equal(nd->mac, "52:54:00:12:34:56");
	assert_string_equal(nd->domain, "lab.example");
	assert_int_equal(nd->local_only, VF_TRI_TRUE);
	assert_int_equal(nd->n_ips, 2);
	assert_int_equal(nd->ips[0].family, 4);
	assert_int_equal(nd->ips[0].prefix, 24);
	assert_string_equal(nd->ips[0].ranges[0].end, "10.77.0.199");
	assert_string_equal(nd->ips[0].hosts[0].name, "web1");
	assert_int_equal(nd->ips[1].family, 6);
	assert_string_equal(nd->ips[1].address, "fd00:77::1");
	assert_string_equal(nd->dns_hosts[0].names[0], "web1");
	assert_string_equal(nd->forwarders[0].addr, "192.0.2.53");
	assert_int_equal(nd->srv[0].port, 80);
	assert_int_equal(nd->srv[0].weight, -1);
	assert_string_equal(nd->txt[0].value, "v=1");
	assert_int_equal(n->u.network.state, VF_NET_ACTIVE);
	assert_true(find(&d, VF_KIND_NETWORK, NULL, "default")->u.network.adopt);
	assert_null(find(&d, VF_KIND_NETWORK, NULL, "quiet")->u.network.def.ips[0].hosts[0].mac);

	/* StoragePool images: every pool field */
	const vf_object *o = find(&d, VF_KIND_POOL, NULL, "images");
	assert_string_equal(o->pos.file, "valid/pools.yaml");
	assert_int_equal(o->name_pos.line, 5);
	assert_int_equal(o->name_pos.col, 9);
	assert_int_equal(o->n_labels, 2);
	assert_string_equal(o->labels[0].key, "app");
	assert_string_equal(o->labels[0].value, "web");
	assert_string_equal(o->labels[1].key, "tier");
	assert_string_equal(o->labels[1].value, "1");
	assert_int_equal(o->n_annotations, 1);
	assert_string_equal(o->annotations[0].value, "ops team");
	const vf_pool_spec *p = &o->u.pool;
	assert_true(p->has_uuid);
	assert_uuid(p->uuid, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
	assert_uuid(o->uuid, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
	assert_int_equal(p->uuid_pos.line, 12);
	assert_int_equal(p->type, VF_POOL_DIR);
	assert_string_equal(p->target_path, "/var/lib/virtform/images");
	assert_int_equal(p->state, VF_POOL_INACTIVE);
	assert_int_equal(p->autostart, VF_TRI_FALSE);
	assert_int_equal(p->perms.owner, 0);
	assert_int_equal(p->perms.group, 0);
	assert_int_equal(p->perms.mode, 0755);
	assert_true(p->adopt);
	assert_int_equal(p->deletion, VF_DELETION_DELETE);

	o = find(&d, VF_KIND_POOL, NULL, "scratch");
	p = &o->u.pool;
	assert_false(p->has_uuid);
	uuid_t derived;
	vf_uuid_derive(VF_KIND_POOL, NULL, "scratch", derived);
	assert_int_equal(uuid_compare(o->uuid, derived), 0);
	assert_int_equal(uuid_compare(p->uuid, derived), 0);
	assert_int_equal(p->type, VF_POOL_FS);
	assert_string_equal(p->source.device, "/dev/vdb1");
	assert_string_equal(p->source.format, "ext4");
	assert_int_equal(p->state, VF_POOL_STATE_UNSET);
	assert_int_equal(p->autostart, VF_TRI_UNSET);
	assert_int_equal(p->perms.owner, -1);
	assert_int_equal(p->perms.mode, -1);
	assert_false(p->adopt);
	assert_int_equal(p->deletion, VF_DELETION_UNSET);

	p = &find(&d, VF_KIND_POOL, NULL, "nfs")->u.pool;
	assert_int_equal(p->type, VF_POOL_NETFS);
	assert_string_equal(p->source.host, "nas.example.com");
	assert_string_equal(p->source.dir, "/export/vms");
	assert_string_equal(p->source.format, "nfs");
	assert_int_equal(p->state, VF_POOL_ACTIVE);
	assert_int_equal(p->autostart, VF_TRI_TRUE);
	p = &find(&d, VF_KIND_POOL, NULL, "san")->u.pool;
	assert_int_equal(p->type, VF_POOL_ISCSI);
	assert_string_equal(p->source.name, "iqn.2013-06.com.example:vms");
	assert_string_equal(p->target_path, "/dev/disk/by-path"); /* libvirt needs one */
	p = &find(&d, VF_KIND_POOL, NULL, "vg0")->u.pool;
	assert_int_equal(p->type, VF_POOL_LOGICAL);
	assert_string_equal(p->source.name, "vg0");
	p = &find(&d, VF_KIND_POOL, NULL, "disk1")->u.pool;
	assert_int_equal(p->type, VF_POOL_DISK);
	assert_string_equal(p->source.device, "/dev/sdb");
	assert_string_equal(p->target_path, "/dev");
	assert_int_equal(p->deletion, VF_DELETION_RETAIN);
	/* each type with every field it uses */
	p = &find(&d, VF_KIND_POOL, NULL, "vg1")->u.pool;
	assert_string_equal(p->source.device, "/dev/sdc");
	assert_string_equal(p->source.name, "vg1");
	assert_string_equal(p->source.format, "lvm2");
	assert_null(p->target_path);
	p = &find(&d, VF_KIND_POOL, NULL, "san2")->u.pool;
	assert_string_equal(p->target_path, "/dev/disk/by-path");
	assert_string_equal(p->source.host, "san.example.com");
	assert_string_equal(p->source.name, "iqn.2013-06.com.example:more");
	p = &find(&d, VF_KIND_POOL, NULL, "disk2")->u.pool;
	assert_string_equal(p->target_path, "/dev");
	assert_string_equal(p->source.device, "/dev/sdd");

	/* Volumes */
	o = find(&d, VF_KIND_VOLUME, "images", "web-root.qcow2");
	const vf_volume_spec *v = &o->u.volume;
	assert_string_equal(v->pool, "images");
	assert_int_equal(v->capacity, 20ull << 30);
	assert_int_equal(v->capacity_pos.line, 7);
	assert_int_equal(v->format, VF_VOL_QCOW2);
	assert_true(v->has_backing);
	assert_string_equal(v->backing.pool, "images");
	assert_string_equal(v->backing.name, "debian12-base.qcow2");
	assert_int_equal(v->perms.owner, 107);
	assert_int_equal(v->perms.group, 0);
	assert_int_equal(v->perms.mode, 0644);
	assert_false(v->adopt);
	assert_int_equal(v->deletion, VF_DELETION_DELETE);
	vf_uuid_derive(VF_KIND_VOLUME, "images", "web-root.qcow2", derived);
	assert_int_equal(uuid_compare(o->uuid, derived), 0);
	v = &find(&d, VF_KIND_VOLUME, "images", "debian12-base.qcow2")->u.volume;
	assert_int_equal(v->capacity, 1073741824ull);
	assert_int_equal(v->format, VF_VOL_RAW);
	assert_false(v->has_backing);
	static const struct { const char *pool, *name; uint64_t bytes; } sizes[] = {
		{ "images", "data", 1500000000000ull }, { "scratch", "data", 512ull << 20 },
		{ "scratch", "tiny", 100000ull },       { "scratch", "huge", 2ull << 40 },
		{ "scratch", "small", 3072ull },        { "scratch", "mb", 500000ull },
		{ "scratch", "gb", 2250000000ull },     { "scratch", "bytes", 4096ull },
	};
	for (size_t i = 0; i < VF_ARRAY_SIZE(sizes); i++)
		assert_int_equal(find(&d, VF_KIND_VOLUME, sizes[i].pool, sizes[i].name)->u.volume.capacity,
				 sizes[i].bytes);

	/* Domain web: every structured field */
	o = find(&d, VF_KIND_DOMAIN, NULL, "web");
	const vf_domain_spec *s = &o->u.domain;
	assert_string_equal(o->annotations[0].key, "description");
	assert_string_equal(o->annotations[0].value, "front end: nginx");
	assert_true(s->has_uuid);
	assert_uuid(o->uuid, "8f0a3b5c-2d4e-4f60-8a1b-2c3d4e5f6a7b");
	assert_int_equal(s->type, VF_DOMAIN_KVM);
	assert_true(s->has_vcpus);
	assert_int_equal(s->vcpus, 4);
	assert_true(s->has_memory);
	assert_int_equal(s->memory, 4ull << 30);
	assert_int_equal(s->cpu_mode, VF_CPU_HOST_PASSTHROUGH);
	assert_string_equal(s->machine, "q35");
	assert_int_equal(s->firmware, VF_FIRMWARE_UEFI);
	assert_int_equal(s->n_boot, 2);
	assert_int_equal(s->boot[0], VF_BOOT_CDROM);
	assert_int_equal(s->boot[1], VF_BOOT_HD);
	assert_int_equal(s->n_disks, 2);
	assert_true(s->disks[0].has_volume);
	assert_string_equal(s->disks[0].volume.pool, "images");
	assert_string_equal(s->disks[0].volume.name, "web-root.qcow2");
	assert_null(s->disks[0].path);
	assert_string_equal(s->disks[0].target, "vda");
	assert_int_equal(s->disks[0].bus, VF_BUS_VIRTIO);
	assert_int_equal(s->disks[0].cache, VF_CACHE_NONE);
	assert_int_equal(s->disks[0].pos.line, 21);
	assert_false(s->disks[1].has_volume);
	assert_string_equal(s->disks[1].path, "/srv/iso/debian-12.iso");
	assert_int_equal(s->disks[1].bus, VF_BUS_SATA);
	assert_int_equal(s->disks[1].device, VF_DISK_DEVICE_CDROM);
	assert_true(s->disks[1].readonly);
	assert_false(s->disks[1].shareable);
	assert_int_equal(s->disks[1].cache, VF_CACHE_WRITEBACK);
	assert_int_equal(s->n_ifaces, 2);
	assert_string_equal(s->ifaces[0].network, "default");
	assert_string_equal(s->ifaces[0].model, "virtio");
	assert_string_equal(s->ifaces[0].mac, "52:54:00:ab:cd:01");
	assert_string_equal(s->ifaces[1].bridge, "br0");
	assert_string_equal(s->ifaces[1].model, "e1000");
	assert_null(s->ifaces[1].mac);
	assert_int_equal(s->graphics, VF_GRAPHICS_VNC);
	assert_string_equal(s->graphics_listen, "0.0.0.0");
	assert_int_equal(s->serial_console, VF_TRI_FALSE);
	assert_int_equal(s->state, VF_RUN_PAUSED);
	assert_int_equal(s->autostart, VF_TRI_TRUE);
	assert_true(s->has_shutdown_timeout);
	assert_int_equal(s->shutdown_timeout, 120);
	assert_true(s->adopt);
	assert_null(s->xml);

	/* Domain db: raw XML; its <uuid> is the identity */
	o = find(&d, VF_KIND_DOMAIN, NULL, "db");
	s = &o->u.domain;
	assert_non_null(s->xml);
	assert_non_null(strstr(s->xml, "<name>db</name>"));
	assert_int_equal(s->xml_pos.line, 10);
	assert_uuid(o->uuid, "a1b2c3d4-e5f6-4a0b-8c9d-0e1f2a3b4c5d");
	assert_int_equal(s->state, VF_RUN_SHUTOFF);
	assert_int_equal(s->autostart, VF_TRI_FALSE);
	assert_int_equal(s->shutdown_timeout, 90);
	assert_false(s->has_vcpus);

	/* Domain styles: quoting, flow style, standard tags, anchors */
	o = find(&d, VF_KIND_DOMAIN, NULL, "styles");
	s = &o->u.domain;
	assert_string_equal(o->labels[0].value, "infra");
	assert_int_equal(s->type, VF_DOMAIN_QEMU);
	assert_int_equal(s->vcpus, 2);
	assert_int_equal(s->memory, 1ull << 30);
	assert_int_equal(s->firmware, VF_FIRMWARE_BIOS);
	assert_int_equal(s->cpu_mode, VF_CPU_MAXIMUM);
	assert_int_equal(s->graphics, VF_GRAPHICS_SPICE);
	assert_int_equal(s->n_disks, 4);
	assert_int_equal(s->disks[0].bus, VF_BUS_SCSI);
	assert_int_equal(s->disks[0].cache, VF_CACHE_DIRECTSYNC);
	assert_string_equal(s->disks[1].volume.name, "styles-data");
	assert_int_equal(s->disks[1].bus, VF_BUS_USB);
	assert_int_equal(s->disks[1].device, VF_DISK_DEVICE_DISK);
	assert_int_equal(s->disks[1].cache, VF_CACHE_UNSAFE);
	assert_int_equal(s->disks[2].bus, VF_BUS_IDE);
	assert_int_equal(s->disks[2].cache, VF_CACHE_WRITETHROUGH);
	assert_int_equal(s->disks[3].cache, VF_CACHE_DEFAULT);
	assert_string_equal(s->ifaces[0].mac, "52:54:00:00:00:02");
	assert_int_equal(s->shutdown_timeout, 3600);
	assert_int_equal(s->serial_console, VF_TRI_TRUE); /* {log: ...} is on, with a log */
	assert_string_equal(s->serial_log, "/var/log/libvirt/qemu/styles-console.log");
	assert_true(s->serial_log_append);
	assert_int_equal(s->state, VF_RUN_RUNNING);

	/* Domain targets: a name of each bus; an unnamed disk keeps no target */
	s = &find(&d, VF_KIND_DOMAIN, NULL, "targets")->u.domain;
	static const struct { const char *target; vf_disk_bus bus; } targets[] = {
		{ "vdb", VF_BUS_UNSET }, { "vdaa", VF_BUS_VIRTIO }, { "sda", VF_BUS_SATA },
		{ "sdb", VF_BUS_SCSI },  { "sdc", VF_BUS_USB },     { "hdc", VF_BUS_IDE },
		{ NULL, VF_BUS_IDE },
	};
	assert_int_equal(s->n_disks, VF_ARRAY_SIZE(targets));
	for (size_t i = 0; i < VF_ARRAY_SIZE(targets); i++) {
		if (targets[i].target)
			assert_string_equal(s->disks[i].target, targets[i].target);
		else
			assert_null(s->disks[i].target);
		assert_int_equal(s->disks[i].bus, targets[i].bus);
	}

	/* Domain minimal: everything unset, identity derived */
	o = find(&d, VF_KIND_DOMAIN, NULL, "minimal");
	s = &o->u.domain;
	assert_false(s->has_uuid);
	vf_uuid_derive(VF_KIND_DOMAIN, NULL, "minimal", derived);
	assert_int_equal(uuid_compare(o->uuid, derived), 0);
	assert_int_equal(s->type, VF_DOMAIN_TYPE_UNSET);
	assert_false(s->has_memory);
	assert_int_equal(s->n_disks, 0);
	assert_int_equal(s->autostart, VF_TRI_UNSET);
	assert_int_equal(s->serial_console, VF_TRI_UNSET);
	assert_null(s->vm_field);
	assert_null(s->ct_field);

	/* Domain web-ct: a container's init, filesystems and idmap */
	o = find(&d, VF_KIND_DOMAIN, NULL, "web-ct");
	s = &o->u.domain;
	assert_int_equal(s->type, VF_DOMAIN_LXC);
	assert_int_equal(s->type_pos.line, 7);
	assert_string_equal(s->init.path, "/sbin/init");
	assert_int_equal(s->init.n_args, 1);
	assert_string_equal(s->init.args[0], "--log-target=console");
	assert_int_equal(s->init.n_env, 2);
	assert_string_equal(s->init.env[1].key, "TIER");
	assert_string_equal(s->init.env[1].value, "3");
	assert_int_equal(s->n_filesystems, 5);
	assert_int_equal(s->filesystems[0].type, VF_FS_TYPE_UNSET);
	assert_string_equal(s->filesystems[0].target, "/");
	assert_true(s->filesystems[1].readonly);
	assert_int_equal(s->filesystems[2].type, VF_FS_FILE);
	assert_string_equal(s->filesystems[3].source, "/dev/vg0/web-log");
	assert_int_equal(s->filesystems[4].type, VF_FS_RAM);
	assert_null(s->filesystems[4].source);
	assert_int_equal(s->filesystems[4].usage, 64ull << 20);
	assert_int_equal(s->n_uidmap, 1);
	assert_int_equal(s->uidmap[0].target, 100000);
	assert_int_equal(s->gidmap[0].count, 65536);
	assert_int_equal(s->n_ifaces, 1);
	assert_null(s->vm_field);
	assert_string_equal(s->ct_field, "init");
	assert_int_equal(s->ct_field_pos.line, 10);

	vf_diags_free(&diags);
	vf_desired_free(&d);

	/* a single file path works too, and keeps the name as given */
	r = load1("valid/domains/web.yaml", &d, &diags);
	assert_int_equal(r, 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.objs[0].pos.file, "valid/domains/web.yaml");
	vf_desired_free(&d);
	assert_int_equal(chdir(cwd), 0);
}

/* One size style everywhere (plan, errors, download lines): the largest IEC
 * unit reached, whole when exact (and then a manifest reads it back to the
 * same bytes), else one decimal; bounds add the bytes. */
static void test_size_format(void **state)
{
	(void)state;
	static const struct { uint64_t in; const char *out, *exact; } cases[] = {
		{ 0, "0B", "0B" }, { 1000, "1000B", "1000B" }, { 1024, "1KiB", "1KiB" },
		{ 512ull << 20, "512MiB", "512MiB" }, { 1536ull << 20, "1.5GiB", "1.5GiB" },
		{ 20ull << 30, "20GiB", "20GiB" },
		/* the image the plan called 194221KiB and the download line 189.7MiB */
		{ 194221ull << 10, "189.7MiB", "189.7MiB (198882304 bytes)" },
		{ 49999, "48.8KiB", "48.8KiB (49999 bytes)" },
		{ (1ull << 30) - 1, "1.0GiB", "1.0GiB (1073741823 bytes)" },
		{ (1ull << 30) + 1, "1.0GiB", "1.0GiB (1073741825 bytes)" },
	};
	for (size_t i = 0; i < VF_ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *s = vf_format_size(cases[i].in);
		_cleanup_free_ char *e = vf_format_size_exact(cases[i].in);
		assert_string_equal(s, cases[i].out);
		assert_string_equal(e, cases[i].exact);
		uint64_t back = 0;
		if (!strchr(s, '.') || strcmp(s, e) == 0) {
			assert_int_equal(vf_size_parse(s, &back, NULL), 0);
			assert_int_equal(back, cases[i].in);
		}
	}
}

static void test_size_parser(void **state)
{
	(void)state;
	static const struct { const char *in; uint64_t out; } good[] = {
		{ "0", 0 }, { "1", 1 }, { "4096B", 4096 }, { "1KiB", 1024 }, { "512MiB", 512ull << 20 },
		{ "20GiB", 20ull << 30 }, { "3TiB", 3ull << 40 }, { "1KB", 1000 }, { "1MB", 1000000 },
		{ "1GB", 1000000000 }, { "1TB", 1000000000000ull }, { "1.5TB", 1500000000000ull },
		{ "1.5KiB", 1536 }, { "0.5KiB", 512 }, { "2.50GB", 2500000000ull },
		{ "18446744073709551615", UINT64_MAX }, { "16777215TiB", 16777215ull << 40 },
	};
	for (size_t i = 0; i < VF_ARRAY_SIZE(good); i++) {
		uint64_t v = 7;
		vf_error err = { 0 };
		if (vf_size_parse(good[i].in, &v, &err) < 0)
			print_error("%s: %s\n", good[i].in, err.message);
		assert_null(err.message);
		assert_int_equal(v, good[i].out);
	}
	static const struct { const char *in, *msg; } bad[] = {
		{ "12XB", "invalid size \"12XB\": unknown unit \"XB\" (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)" },
		{ "-1", "invalid size \"-1\": sizes cannot be negative" },
		{ "1.5B", "invalid size \"1.5B\": not a whole number of bytes" },
		{ "1.1", "invalid size \"1.1\": not a whole number of bytes" },
		{ "18446744073709551616", "invalid size \"18446744073709551616\": too large (at most 18446744073709551615 bytes)" },
		{ "16777216TiB", "invalid size \"16777216TiB\": too large (at most 18446744073709551615 bytes)" },
		{ "", "invalid size \"\": expected a number of bytes or a number with a unit, like 20GiB" },
		{ "1.GiB", "invalid size \"1.GiB\": expected digits after the \".\"" },
		{ "5 MiB", "invalid size \"5 MiB\": write the unit right after the number, like 20GiB" },
		{ "1e3", "invalid size \"1e3\": unknown unit \"e3\" (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)" },
		{ "0.0000000000000000001TB", "invalid size \"0.0000000000000000001TB\": not a whole number of bytes" },
	};
	for (size_t i = 0; i < VF_ARRAY_SIZE(bad); i++) {
		uint64_t v = 7;
		vf_error err = { 0 };
		assert_int_equal(vf_size_parse(bad[i].in, &v, &err), -VF_E_SCHEMA);
		assert_int_equal(v, 7);   /* a failing call never writes its output */
		assert_string_equal(err.message, bad[i].msg);
		vf_error_clear(&err);
	}
}

static void test_name_check(void **state)
{
	(void)state;
	vf_error err = { 0 };
	assert_int_equal(vf_name_check("web-1.qcow2", 11, "metadata.name", &err), 0);
	assert_int_equal(vf_name_check("a..b", 4, "metadata.name", &err), 0);
	char longest[VF_NAME_MAX + 2];
	memset(longest, 'a', sizeof(longest));
	assert_int_equal(vf_name_check(longest, VF_NAME_MAX, "metadata.name", &err), 0);
	assert_null(err.message);
	static const struct { const char *in; size_t len; const char *msg; } bad[] = {
		{ "", 0, "invalid metadata.name \"\": must not be empty" },
		{ "a/b", 3, "invalid metadata.name \"a/b\": must not contain \"/\"" },
		{ ".x", 2, "invalid metadata.name \".x\": must not start with \".\"" },
		{ "..", 2, "invalid metadata.name \"..\": must not start with \".\"" },
		{ "a\nb", 3, "invalid metadata.name \"a\\nb\": must not contain control characters" },
		{ "a\x7f", 2, "invalid metadata.name \"a\\x7f\": must not contain control characters" },
		{ "a\0b", 3, "invalid metadata.name \"a\\x00b\": must not contain a NUL byte" },
	};
	for (size_t i = 0; i < VF_ARRAY_SIZE(bad); i++) {
		assert_int_equal(vf_name_check(bad[i].in, bad[i].len, "metadata.name", &err), -VF_E_SCHEMA);
		assert_string_equal(err.message, bad[i].msg);
		vf_error_clear(&err);
	}
	assert_int_equal(vf_name_check(longest, VF_NAME_MAX + 1, "spec.pool", &err), -VF_E_SCHEMA);
	assert_non_null(strstr(err.message, "longer than 200 bytes"));
	vf_error_clear(&err);
}

static void test_other_parsers(void **state)
{
	(void)state;
	vf_error err = { 0 };
	uuid_t u;
	assert_int_equal(vf_uuid_parse_strict("4DEA22B3-1D52-D8F3-2516-782E98AB3FA0", u, &err), 0);
	assert_uuid(u, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
	assert_int_equal(vf_uuid_parse_strict("{4dea22b3-1d52-d8f3-2516-782e98ab3fa0}", u, &err), -VF_E_SCHEMA);
	vf_error_clear(&err);
	assert_int_equal(vf_uuid_parse_strict("00000000-0000-0000-0000-000000000000", u, &err), -VF_E_SCHEMA);
	assert_non_null(strstr(err.message, "nil UUID"));
	vf_error_clear(&err);

	char *mac = NULL;
	assert_int_equal(vf_mac_parse("52:54:00:AB:cd:0F", &mac, &err), 0);
	assert_string_equal(mac, "52:54:00:ab:cd:0f");
	free(mac);
	assert_int_equal(vf_mac_parse("52-54-00-ab-cd-0f", &mac, &err), -VF_E_SCHEMA);
	vf_error_clear(&err);
	assert_int_equal(vf_mac_parse("ff:ff:ff:ff:ff:ff", &mac, &err), -VF_E_SCHEMA);
	assert_non_null(strstr(err.message, "multicast"));
	vf_error_clear(&err);

	int32_t mode = -1;
	assert_int_equal(vf_mode_parse("0755", &mode, &err), 0);
	assert_int_equal(mode, 0755);
	assert_int_equal(vf_mode_parse("755", &mode, &err), 0);
	assert_int_equal(mode, 0755);
	assert_int_equal(vf_mode_parse("07777", &mode, &err), 0);
	assert_int_equal(mode, 07777);
	assert_int_equal(vf_mode_parse("10000", &mode, &err), -VF_E_SCHEMA);
	vf_error_clear(&err);
	assert_int_equal(vf_mode_parse("rwx", &mode, &err), -VF_E_SCHEMA);
	vf_error_clear(&err);

	uint32_t secs = 0;
	assert_int_equal(vf_duration_parse("90", &secs, &err), 0);
	assert_int_equal(secs, 90);
	assert_int_equal(vf_duration_parse("90s", &secs, &err), 0);
	assert_int_equal(secs, 90);
	assert_int_equal(vf_duration_parse("2m", &secs, &err), 0);
	assert_int_equal(secs, 120);
	assert_int_equal(vf_duration_parse("1h", &secs, &err), 0);
	assert_int_equal(secs, 3600);
	assert_int_equal(vf_duration_parse("1h30m", &secs, &err), -VF_E_SCHEMA);
	vf_error_clear(&err);
	assert_int_equal(vf_duration_parse("99999999999h", &secs, &err), -VF_E_SCHEMA);
	assert_non_null(strstr(err.message, "too long"));
	vf_error_clear(&err);
}

static const char *const pool_doc =
	"apiVersion: virtform/v1\nkind: StoragePool\nmetadata:\n  name: %s\nspec:\n  type: dir\n"
	"  target:\n    path: /srv/%s\n";

/* Symlinks are followed only inside the directory given; a missing path is
 * an I/O error naming it; files over 4 MiB are refused. */
static void test_discovery(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/vf-manifest-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpl), 0);
	assert_int_equal(mkdir("root", 0755), 0);
	assert_int_equal(mkdir("root/sub", 0755), 0);
	_cleanup_free_ char *a = vf_asprintf(pool_doc, "inside", "inside");
	_cleanup_free_ char *b = vf_asprintf(pool_doc, "outside", "outside");
	vf_test_write_file("root/sub/.real", a);    /* hidden: loaded only through the link */
	vf_test_write_file("outside.yaml", b);
	assert_int_equal(symlink("sub/.real", "root/link.yaml"), 0);
	assert_int_equal(symlink("../outside.yaml", "root/escape.yaml"), 0);
	assert_int_equal(symlink("../..", "root/sub/up"), 0);   /* a directory out of the tree */
	assert_int_equal(symlink("..", "root/sub/loop"), 0);    /* inside, but a loop: walked once */
	assert_int_equal(mkfifo("root/fifo.yaml", 0644), 0);  /* never opened */

	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	const char *paths[] = { "root", "missing-dir" };
	int r = vf_manifest_load(paths, 2, &d, &diags);
	_cleanup_free_ char *got = format_diags(&diags);
	assert_string_equal(got,
			    "missing-dir: error: cannot read \"missing-dir\": No such file or directory\n"
			    "root/escape.yaml: error: symlink \"root/escape.yaml\" points outside \"root\"; not followed\n"
			    "root/sub/up: error: symlink \"root/sub/up\" points outside \"root\"; not followed\n");
	assert_int_equal(r, -VF_E_IO);
	assert_int_equal(d.n, 0);
	vf_diags_free(&diags);
	vf_desired_free(&d);

	/* the link inside the tree is followed and named as found */
	unlink("root/escape.yaml");
	unlink("root/sub/up");
	r = load1("root", &d, &diags);
	assert_int_equal(r, 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.objs[0].name, "inside");
	assert_string_equal(d.objs[0].pos.file, "root/link.yaml");
	vf_desired_free(&d);

	/* one file named twice (directory and file) loads once */
	const char *twice[] = { "root", "root/link.yaml" };
	assert_int_equal(vf_manifest_load(twice, 2, &d, &diags), 0);
	assert_int_equal(d.n, 1);
	vf_desired_free(&d);

	/* over 4 MiB: refused before parsing */
	FILE *f = fopen("big.yaml", "w");
	assert_non_null(f);
	fputs("# big\n", f);
	for (size_t i = 0; i < VF_MANIFEST_MAX_FILE / 64 + 1; i++)
		fputs("#23456789012345678901234567890123456789012345678901234567890123\n", f);
	fclose(f);
	r = load1("big.yaml", &d, &diags);
	assert_int_equal(r, -VF_E_LIMIT);
	_cleanup_free_ char *big = format_diags(&diags);
	assert_string_equal(big, "big.yaml: error: file is larger than 4 MiB; manifests are limited to that size\n");
	vf_diags_free(&diags);
	vf_desired_free(&d);

	unlink("big.yaml");
	unlink("root/sub/loop");
	unlink("root/fifo.yaml");
	unlink("root/link.yaml");
	unlink("root/sub/.real");
	unlink("outside.yaml");
	rmdir("root/sub");
	rmdir("root");
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rmdir(tmpl), 0);
}

/* A hostile flow document of many small nodes stays bounded and fast. */
/* spec.placement and a pool's spec.shared fill the model the planner reads
 * (docs/fleet.md); what they refuse is in the invalid corpus. */
static void test_placement_decode(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("placement");
	_cleanup_free_ char *file = vf_asprintf("%s/fleet.yaml", dir);
	vf_test_write_file(file,
			   "apiVersion: virtform/v1\n"
			   "kind: StoragePool\n"
			   "metadata: {name: nfs}\n"
			   "spec:\n"
			   "  type: dir\n"
			   "  target: {path: /srv/nfs}\n"
			   "  shared: true\n"
			   "---\n"
			   "apiVersion: virtform/v1\n"
			   "kind: StoragePool\n"
			   "metadata: {name: local}\n"
			   "spec: {type: dir, target: {path: /var/lib/local}}\n"
			   "---\n"
			   "apiVersion: virtform/v1\n"
			   "kind: Domain\n"
			   "metadata: {name: web}\n"
			   "spec:\n"
			   "  autostart: false\n"
			   "  placement:\n"
			   "    hosts: [host-a, h_2.b]\n"
			   "    hostLabels: {rack: r1, example.com/ssd: \"\"}\n"
			   "---\n"
			   "apiVersion: virtform/v1\n"
			   "kind: Domain\n"
			   "metadata: {name: plain}\n"
			   "spec: {}\n");
	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	int r = load1(file, &d, &diags);
	_cleanup_free_ char *got = format_diags(&diags);
	assert_string_equal(got, "");
	assert_int_equal(r, 0);
	const vf_pool_spec *nfs = &find(&d, VF_KIND_POOL, NULL, "nfs")->u.pool;
	assert_true(nfs->shared);
	assert_int_equal(nfs->shared_pos.line, 7);
	assert_int_equal(nfs->shared_pos.col, 11);
	assert_false(find(&d, VF_KIND_POOL, NULL, "local")->u.pool.shared);
	const vf_domain_spec *web = &find(&d, VF_KIND_DOMAIN, NULL, "web")->u.domain;
	assert_true(web->placed);
	assert_int_equal(web->placement_pos.line, 20);
	assert_int_equal(web->n_place_hosts, 2);
	assert_string_equal(web->place_hosts[0], "host-a");
	assert_string_equal(web->place_hosts[1], "h_2.b");
	assert_int_equal(web->n_place_labels, 2);
	assert_string_equal(web->place_labels[0].key, "rack");
	assert_string_equal(web->place_labels[0].value, "r1");
	assert_string_equal(web->place_labels[1].key, "example.com/ssd");
	assert_string_equal(web->place_labels[1].value, "");
	const vf_domain_spec *plain = &find(&d, VF_KIND_DOMAIN, NULL, "plain")->u.domain;
	assert_false(plain->placed);
	assert_int_equal(plain->n_place_hosts, 0);
	vf_diags_free(&diags);
	vf_desired_free(&d);
	vf_test_rm_tree(dir);
}

static void test_hostile_wide(void **state)
{
	(void)state;
	vf_buf b = { 0 };
	vf_buf_add(&b, "apiVersion: virtform/v1\nkind: Domain\nmetadata: {name: wide}\nspec:\n  boot: [");
	for (size_t i = 0; i < 300000; i++)
		vf_buf_add(&b, "hd,");
	vf_buf_add(&b, "hd]\n");
	char tmpl[] = "/tmp/vf-wide-XXXXXX.yaml";
	int fd = mkstemps(tmpl, 5);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
	close(fd);
	vf_buf_free(&b);
	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	assert_int_equal(load1(tmpl, &d, &diags), -VF_E_LIMIT);
	assert_int_equal(diags.n, 1);
	assert_non_null(strstr(diags.items[0].message, "more than 250000 YAML nodes"));
	vf_diags_free(&diags);
	vf_desired_free(&d);
	unlink(tmpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_corpus),
		cmocka_unit_test(test_invalid_codes),
		cmocka_unit_test(test_valid_fixtures),
		cmocka_unit_test(test_size_parser),
		cmocka_unit_test(test_size_format),
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_other_parsers),
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_hostile_wide),
		cmocka_unit_test(test_placement_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
