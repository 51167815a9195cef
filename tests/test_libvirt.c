/* test_libvirt.c: the libvirt driver against libvirt's own test driver
 * (test:///default, fresh per test, and a custom state file in
 * tests/fixtures/libvirt/): what it observes, what it defines reads back
 * field by field, lifecycle calls change the observed state, errors
 * carry libvirt's message, and opening a peer that never answers gives up
 * in time. Objects are built by hand, not loaded from YAML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/libvirt/lv.h"
#include "controller/load/manifest.h"
#include "controller/plan/plan.h"
#include "controller/plan/planprint.h"
#include "harness/harness.h"

#define HV (&vf_libvirt_hypervisor_driver)
#define ST (&vf_libvirt_storage_driver)
#define GIB (1024ull * 1024 * 1024)
#define MIB (1024ull * 1024)
#define HOSTILE "a<b&\"c'"
#define STATE_URI "test://" SRCDIR "/tests/fixtures/libvirt/host.xml"

/* ---- harness -------------------------------------------------------------- */

static vf_conn *open_uri(const char *uri)
{
	vf_conn *c = NULL;
	vf_error e = { 0 };
	int r = HV->open(uri, NULL, &c, &e);
	if (r < 0)
		fail_msg("open %s: %s", uri, e.message);
	assert_non_null(c);
	return c;
}

static vf_observed observe(vf_conn *c)
{
	vf_observed o = { 0 };
	vf_error e = { 0 };
	if (HV->observe(c, &o, &e) < 0)
		fail_msg("observe: %s", e.message);
	return o;
}

/* Run a driver call that must succeed; on failure show libvirt's words. */
#define OK(call)                                                                  \
	do {                                                                      \
		vf_error err_ = { 0 };                                            \
		vf_error *err = &err_;                                            \
		int r_ = (call);                                                  \
		if (r_ != 0)                                                      \
			fail_msg("%s failed: %s", #call, err_.message);           \
		vf_error_clear(&err_);                                            \
	} while (0)

static void assert_contains(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay ? hay : "(null)", needle);
}

static vf_perms perms(int32_t mode, int64_t owner, int64_t group)
{
	return (vf_perms){ .mode = mode, .owner = owner, .group = group };
}

static vf_object pool_obj(const char *name, const char *path)
{
	vf_object o = { .kind = VF_KIND_POOL, .name = vf_strdup(name) };
	vf_uuid_derive(VF_KIND_POOL, NULL, name, o.uuid);
	o.u.pool.type = VF_POOL_DIR;
	o.u.pool.target_path = vf_strdup(path);
	o.u.pool.perms = perms(-1, -1, -1);
	return o;
}

static vf_object volume_obj(const char *pool, const char *name, uint64_t capacity)
{
	vf_object o = { .kind = VF_KIND_VOLUME, .name = vf_strdup(name) };
	vf_uuid_derive(VF_KIND_VOLUME, pool, name, o.uuid);
	o.u.volume.pool = vf_strdup(pool);
	o.u.volume.capacity = capacity;
	o.u.volume.perms = perms(-1, -1, -1);
	return o;
}

static vf_object domain_obj(const char *name)
{
	vf_object o = { .kind = VF_KIND_DOMAIN, .name = vf_strdup(name) };
	vf_uuid_derive(VF_KIND_DOMAIN, NULL, name, o.uuid);
	return o;
}

static vf_disk volume_disk(const char *pool, const char *name)
{
	return (vf_disk){ .has_volume = true,
			  .volume = { .pool = vf_strdup(pool), .name = vf_strdup(name) } };
}

static void uuid_str(const uuid_t u, char out[UUID_STR_LEN])
{
	uuid_unparse_lower(u, out);
}

__attribute__((returns_nonnull)) static vf_obs_disk *disk_by_target(vf_obs_domain *d,
								 const char *target)
{
	for (size_t i = 0; i < d->n_disks; i++)
		if (vf_streq(d->disks[i].target, target))
			return &d->disks[i];
	fail_msg("domain \"%s\" has no disk with target %s", d->name, target);
	abort();
}

/* ---- observing ------------------------------------------------------------ */

/* Transports as URIs spell them, and what virtform makes of each: the
 * keepalive interval and whether calls may overlap (lv.h says why
 * qemu+libssh:// differs in both). */
static const struct {
	const char *uri;
	int interval_s;
	bool overlap;
} transport_cases[] = {
	{ "qemu+libssh://root@127.0.0.1:2222/system?keyfile=/k&sshauth=privkey", 1, false },
	{ "QEMU+LIBSSH://h/system", 1, false },
	{ "lxc+libssh://h/", 1, false },
	{ "qemu+libssh2://h/system", 5, true },
	{ "qemu+ssh://root@h/system?command=/usr/bin/libssh", 5, true },
	{ "qemu:///system", 5, true },
	{ "test:///default", 5, true },
	{ NULL, 5, true },
};

/* A qemu+libssh:// connection is pinged every second, every other
 * transport every 5 s; a dead peer fails a call in about the same time
 * either way. */
static void test_keepalive_per_transport(void **state)
{
	(void)state;
	for (size_t i = 0; i < VF_ARRAY_SIZE(transport_cases); i++) {
		int interval = 0;
		unsigned count = 0;
		vf_lv__keepalive_for(transport_cases[i].uri, &interval, &count);
		assert_int_equal(interval, transport_cases[i].interval_s);
		unsigned bound = (unsigned)interval * (count + 1);
		assert_true(bound >= 15 && bound <= 20);
	}
}

/* Calls overlap on one connection (observe's parallel reads) on every
 * transport but qemu+libssh://, where libvirt's client cannot take it
 * (lv.h). On a serial connection every read runs on the caller's thread;
 * without that, the 64 reads below are shared with 3 more threads. */
typedef struct par_probe {
	pthread_t who[64];
} par_probe;

static void par_probe_one(void *ctx, size_t i)
{
	par_probe *p = ctx;
	p->who[i] = pthread_self();
	usleep(1000); /* long enough that the other threads get some */
}

static void test_libssh_calls_never_overlap(void **state)
{
	(void)state;
	for (size_t i = 0; i < VF_ARRAY_SIZE(transport_cases); i++)
		assert_int_equal(vf_lv__calls_may_overlap(transport_cases[i].uri),
				 transport_cases[i].overlap);

	vf_conn *c = open_uri("test:///default");
	assert_false(c->serial);
	par_probe p = { 0 };
	vf_lv__parallel(c, 64, par_probe_one, &p);
	size_t others = 0;
	for (size_t i = 0; i < 64; i++)
		others += !pthread_equal(p.who[i], pthread_self());
	assert_true(others > 0);

	c->serial = true; /* as vf_lv_open sets it for qemu+libssh:// */
	memset(&p, 0, sizeof(p));
	vf_lv__parallel(c, 64, par_probe_one, &p);
	for (size_t i = 0; i < 64; i++)
		assert_true(pthread_equal(p.who[i], pthread_self()));
	HV->close(c);
}

static void test_observe_default_host(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	assert_string_equal(HV->uri(c), "test:///default");
	vf_observed o = observe(c);

	assert_int_equal(strcasecmp(o.hv_type, "test"), 0);
	assert_false(o.kvm); /* the test driver offers only type='test' guests */

	vf_obs_pool *p = vf_observed_pool(&o, "default-pool");
	assert_non_null(p);
	assert_int_equal(p->type, VF_POOL_DIR);
	assert_string_equal(p->type_name, "dir");
	assert_string_equal(p->target_path, "/default-pool");
	assert_true(p->active);
	assert_true(p->persistent);
	assert_true(p->capacity > 0);

	vf_obs_domain *d = vf_observed_domain(&o, "test");
	assert_non_null(d);
	assert_string_equal(d->type, "test");
	assert_int_equal(d->state, VF_RUN_RUNNING);
	assert_string_equal(d->state_name, "running");
	assert_int_equal(d->vcpus, 2);
	assert_int_equal(d->memory, 8 * GIB);
	assert_int_equal(d->current_memory, 2 * GIB);
	assert_int_equal(d->live_vcpus, 2);
	assert_int_equal(d->live_memory, 2 * GIB);
	assert_false(d->managed);
	assert_true(d->persistent);
	assert_int_equal(d->n_disks, 1);
	assert_int_equal(d->disks[0].type, VF_OBS_DISK_FILE);
	assert_string_equal(d->disks[0].path, "/guest/diskimage1");
	assert_string_equal(d->disks[0].target, "vda");
	assert_int_equal(d->n_ifaces, 1);
	assert_string_equal(d->ifaces[0].network, "default");
	assert_string_equal(d->ifaces[0].mac, "aa:bb:cc:dd:ee:ff");
	assert_int_equal(d->graphics, VF_GRAPHICS_NONE);
	assert_non_null(d->xml);
	assert_contains(d->xml, "<name>test</name>");

	vf_observed_free(&o);
	HV->close(c);
}

static void test_observe_state_file(void **state)
{
	(void)state;
	vf_conn *c = open_uri(STATE_URI);
	vf_observed o = observe(c);

	vf_obs_pool *p = vf_observed_pool(&o, "images");
	assert_non_null(p);
	char u[UUID_STR_LEN];
	uuid_str(p->uuid, u);
	assert_string_equal(u, "3d2f8c61-5a4b-4e9f-b1c2-7e6d5f4a3b29");
	assert_string_equal(p->target_path, "/images");
	assert_int_equal(p->mode, 0711);
	assert_int_equal(p->owner, 0);
	assert_int_equal(p->group, 107);
	assert_int_equal(p->capacity, 100 * GIB);

	vf_obs_volume *v = vf_observed_volume(&o, "images", "base.qcow2");
	assert_non_null(v);
	assert_string_equal(v->path, "/images/base.qcow2");
	assert_int_equal(v->capacity, 20 * GIB); /* unit='GiB' normalised to bytes */
	assert_int_equal(v->allocation, 512 * MIB);
	assert_int_equal(v->format, VF_VOL_QCOW2);
	assert_string_equal(v->format_name, "qcow2");
	assert_null(v->backing_path);

	vf_obs_domain *web = vf_observed_domain(&o, "web");
	assert_non_null(web);
	assert_true(web->managed); /* the owner element in virtform's namespace */
	assert_int_equal(web->state, VF_RUN_RUNNING);
	assert_int_equal(web->memory, 1 * GIB);
	assert_int_equal(web->current_memory, 768 * MIB);
	assert_int_equal(web->vcpus, 2);
	assert_string_equal(web->machine, "pc");
	assert_int_equal(web->firmware, VF_FIRMWARE_UEFI); /* a <loader> */
	assert_int_equal(web->n_boot, 2);
	assert_int_equal(web->boot[0], VF_BOOT_CDROM);
	assert_int_equal(web->boot[1], VF_BOOT_HD);
	assert_int_equal(web->n_disks, 1);
	assert_int_equal(web->disks[0].type, VF_OBS_DISK_FILE);
	assert_string_equal(web->disks[0].path, "/images/web.qcow2");
	assert_string_equal(web->disks[0].target, "sdb");
	assert_int_equal(web->disks[0].bus, VF_BUS_SATA);
	assert_int_equal(web->disks[0].cache, VF_CACHE_WRITEBACK);
	assert_int_equal(web->n_ifaces, 1);
	assert_string_equal(web->ifaces[0].bridge, "br0");
	assert_null(web->ifaces[0].network);
	assert_string_equal(web->ifaces[0].model, "e1000");
	assert_string_equal(web->ifaces[0].mac, "52:54:00:ab:cd:ef"); /* lower-cased */
	assert_int_equal(web->graphics, VF_GRAPHICS_SPICE);
	assert_string_equal(web->graphics_listen, "0.0.0.0");
	assert_false(web->serial_console);

	vf_obs_domain *legacy = vf_observed_domain(&o, "legacy");
	assert_non_null(legacy);
	assert_false(legacy->managed);
	assert_int_equal(legacy->state, VF_RUN_SHUTOFF);
	assert_string_equal(legacy->state_name, "shutoff");
	assert_int_equal(legacy->firmware, VF_FIRMWARE_BIOS);
	assert_int_equal(legacy->live_vcpus, 0);
	assert_int_equal(legacy->live_memory, 0);
	assert_int_equal(legacy->memory, 256 * MIB);

	vf_observed_free(&o);
	HV->close(c);
}

static void test_observe_changes_nothing(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_object pool = pool_obj("idle", "/idle");
	OK(ST->pool_define(c, &pool, err)); /* defined, never started */

	vf_observed a = observe(c);
	vf_observed b = observe(c);
	vf_obs_pool *p = vf_observed_pool(&b, "idle");
	assert_non_null(p);
	assert_false(p->active); /* observing did not start it */
	assert_int_equal(a.n_pools, b.n_pools);
	assert_int_equal(a.n_domains, b.n_domains);
	assert_int_equal(a.n_volumes, b.n_volumes);
	assert_int_equal(vf_observed_domain(&b, "test")->state, VF_RUN_RUNNING);

	vf_observed_free(&a);
	vf_observed_free(&b);
	vf_object_clear(&pool);
	HV->close(c);
}

/* A dir pool holds what its directory holds, read from disk whether the
 * pool is active or not, files libvirt never listed included; a pool of
 * another type holds what libvirt lists, which it cannot while inactive
 * (docs/concepts.md, "Nothing unowned is ever deleted"). */
static void test_observe_pool_contents(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("contents");
	_cleanup_free_ char *store = vf_asprintf("%s/store", dir);
	_cleanup_free_ char *foreign = vf_asprintf("%s/foreign.img", store);
	_cleanup_free_ char *hidden = vf_asprintf("%s/.hidden", store);
	_cleanup_free_ char *none = vf_asprintf("%s/none", dir);
	assert_int_equal(mkdir(store, 0755), 0);
	vf_test_write_file(foreign, "someone else's disk");
	vf_test_write_file(hidden, "x");
	vf_conn *c = open_uri("test:///default");
	vf_object pool = pool_obj("store", store);
	vf_object gone = pool_obj("gone", none);
	vf_object vg = pool_obj("vg", NULL);
	vg.u.pool.type = VF_POOL_LOGICAL;
	vg.u.pool.source.name = vf_strdup("vg0");
	OK(ST->pool_define(c, &pool, err)); /* defined, never started */
	OK(ST->pool_define(c, &gone, err));
	OK(ST->pool_define(c, &vg, err));

	for (int started = 0; started < 2; started++) {
		vf_observed o = observe(c);
		vf_obs_pool *p = vf_observed_pool(&o, "store");
		assert_non_null(p);
		assert_int_equal(p->active, started == 1);
		assert_true(p->contents_known);
		assert_null(p->contents_note);
		assert_int_equal(p->n_entries, 2); /* sorted; hidden files count too */
		assert_string_equal(p->entries[0], ".hidden");
		assert_string_equal(p->entries[1], "foreign.img");
		/* a directory that does not exist holds nothing */
		vf_obs_pool *g = vf_observed_pool(&o, "gone");
		assert_true(g->contents_known);
		assert_int_equal(g->n_entries, 0);
		/* an inactive logical pool's volumes cannot be listed */
		vf_obs_pool *v = vf_observed_pool(&o, "vg");
		assert_false(v->contents_known);
		assert_contains(v->contents_note, "inactive");
		vf_observed_free(&o);
		if (!started)
			OK(ST->pool_start(c, "store", err));
	}
	/* observing deleted nothing */
	_cleanup_free_ char *text = vf_test_read_file(foreign);
	assert_string_equal(text, "someone else's disk");

	vf_object_clear(&pool);
	vf_object_clear(&gone);
	vf_object_clear(&vg);
	HV->close(c);
	vf_test_rm_tree(dir);
}

/* ---- defining and reading back ------------------------------------------- */

/* A pool, a backing volume, a volume on it and a domain using both. */
static void define_stack(vf_conn *c, const char *path_disk)
{
	vf_object pool = pool_obj("vms", "/vms");
	pool.u.pool.perms = perms(0755, 107, 108);
	OK(ST->pool_define(c, &pool, err));
	OK(ST->pool_start(c, "vms", err));
	OK(ST->pool_set_autostart(c, "vms", true, err));

	vf_object base = volume_obj("vms", "base.qcow2", 1 * GIB);
	OK(ST->volume_create(c, &base, err));
	vf_object disk = volume_obj("vms", "disk.qcow2", 10 * GIB);
	disk.u.volume.format = VF_VOL_QCOW2;
	disk.u.volume.perms = perms(0600, 107, 107);
	disk.u.volume.has_backing = true;
	disk.u.volume.backing = (vf_volref){ .pool = vf_strdup("vms"), .name = vf_strdup("base.qcow2") };
	OK(ST->volume_create(c, &disk, err));

	vf_object dom = domain_obj("web");
	vf_domain_spec *s = &dom.u.domain;
	s->has_vcpus = true;
	s->vcpus = 4;
	s->has_memory = true;
	s->memory = 2 * GIB;
	s->cpu_mode = VF_CPU_HOST_PASSTHROUGH;
	s->machine = vf_strdup("q35");
	s->firmware = VF_FIRMWARE_UEFI;
	s->boot = vf_calloc(2, sizeof(*s->boot));
	s->boot[0] = VF_BOOT_HD;
	s->boot[1] = VF_BOOT_CDROM;
	s->n_boot = 2;
	s->disks = vf_calloc(3, sizeof(*s->disks));
	s->n_disks = 3;
	s->disks[0] = volume_disk("vms", "disk.qcow2"); /* virtio, no target: skips vda */
	s->disks[0].cache = VF_CACHE_NONE;
	s->disks[1] = volume_disk("vms", "base.qcow2");
	s->disks[1].bus = VF_BUS_SATA;
	s->disks[1].readonly = true;
	s->disks[1].shareable = true;
	s->disks[2] = (vf_disk){ .path = vf_strdup(path_disk), .target = vf_strdup("vda"),
				 .device = VF_DISK_DEVICE_CDROM, .readonly = true };
	s->ifaces = vf_calloc(2, sizeof(*s->ifaces));
	s->n_ifaces = 2;
	s->ifaces[0] = (vf_iface){ .network = vf_strdup("default"), .mac = vf_strdup("52:54:00:12:34:56") };
	s->ifaces[1] = (vf_iface){ .bridge = vf_strdup("br0"), .model = vf_strdup("e1000") };
	s->graphics = VF_GRAPHICS_VNC;
	OK(HV->domain_define(c, &dom, VF_DOMAIN_KVM, err));
	OK(HV->domain_set_autostart(c, "web", true, err));

	vf_object_clear(&pool);
	vf_object_clear(&base);
	vf_object_clear(&disk);
	vf_object_clear(&dom);
}

static void test_define_and_observe_back(void **state)
{
	(void)state;
	char tmp[] = "/tmp/vf-libvirt-cdrom-XXXXXX";
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	close(fd);

	vf_conn *c = open_uri("test:///default");
	define_stack(c, tmp);
	vf_observed o = observe(c);

	vf_obs_pool *p = vf_observed_pool(&o, "vms");
	assert_non_null(p);
	uuid_t want;
	vf_uuid_derive(VF_KIND_POOL, NULL, "vms", want);
	assert_int_equal(uuid_compare(p->uuid, want), 0);
	assert_int_equal(p->type, VF_POOL_DIR);
	assert_string_equal(p->target_path, "/vms");
	assert_true(p->active);
	assert_true(p->autostart);
	assert_true(p->persistent);
	assert_int_equal(p->mode, 0755);
	assert_int_equal(p->owner, 107);
	assert_int_equal(p->group, 108);

	vf_obs_volume *base = vf_observed_volume(&o, "vms", "base.qcow2");
	assert_non_null(base);
	assert_int_equal(base->capacity, 1 * GIB);
	assert_int_equal(base->format, VF_VOL_QCOW2); /* the default format */
	vf_obs_volume *disk = vf_observed_volume(&o, "vms", "disk.qcow2");
	assert_non_null(disk);
	assert_int_equal(disk->capacity, 10 * GIB);
	assert_int_equal(disk->format, VF_VOL_QCOW2);
	assert_string_equal(disk->backing_path, base->path);
	assert_int_equal(disk->mode, 0600);
	assert_int_equal(disk->owner, 107);
	assert_int_equal(disk->group, 107);

	vf_obs_domain *d = vf_observed_domain(&o, "web");
	assert_non_null(d);
	vf_uuid_derive(VF_KIND_DOMAIN, NULL, "web", want);
	assert_int_equal(uuid_compare(d->uuid, want), 0);
	assert_string_equal(d->type, "test"); /* the test driver's only type */
	assert_true(d->managed);
	assert_true(d->persistent);
	assert_true(d->autostart);
	assert_int_equal(d->state, VF_RUN_SHUTOFF);
	assert_int_equal(d->vcpus, 4);
	assert_int_equal(d->memory, 2 * GIB);
	assert_int_equal(d->current_memory, 2 * GIB);
	assert_int_equal(d->cpu_mode, VF_CPU_HOST_PASSTHROUGH);
	assert_string_equal(d->machine, "q35");
	assert_int_equal(d->firmware, VF_FIRMWARE_UEFI);
	assert_int_equal(d->n_boot, 2);
	assert_int_equal(d->boot[0], VF_BOOT_HD);
	assert_int_equal(d->boot[1], VF_BOOT_CDROM);

	assert_int_equal(d->n_disks, 3);
	vf_obs_disk *d0 = disk_by_target(d, "vdb"); /* vda is taken by the explicit cdrom */
	vf_obs_disk *d1 = disk_by_target(d, "sda");
	vf_obs_disk *d2 = disk_by_target(d, "vda");
	assert_int_equal(d0->type, VF_OBS_DISK_VOLUME);
	assert_string_equal(d0->pool, "vms");
	assert_string_equal(d0->volume, "disk.qcow2");
	assert_int_equal(d0->bus, VF_BUS_VIRTIO);
	assert_int_equal(d0->device, VF_DISK_DEVICE_DISK);
	assert_int_equal(d0->cache, VF_CACHE_NONE);
	assert_false(d0->readonly);
	assert_false(d0->shareable);
	assert_int_equal(d1->type, VF_OBS_DISK_VOLUME);
	assert_string_equal(d1->pool, "vms");
	assert_string_equal(d1->volume, "base.qcow2");
	assert_int_equal(d1->bus, VF_BUS_SATA);
	assert_true(d1->readonly);
	assert_true(d1->shareable);
	assert_int_equal(d1->cache, VF_CACHE_UNSET);
	assert_int_equal(d2->type, VF_OBS_DISK_FILE); /* a regular file, not a block device */
	assert_string_equal(d2->path, tmp);
	assert_int_equal(d2->device, VF_DISK_DEVICE_CDROM);
	assert_true(d2->readonly);
	/* the volume's format was looked up through libvirt */
	assert_contains(d->xml, "<driver name='qemu' type='qcow2' cache='none'/>");

	assert_int_equal(d->n_ifaces, 2);
	assert_string_equal(d->ifaces[0].network, "default");
	assert_string_equal(d->ifaces[0].mac, "52:54:00:12:34:56");
	assert_string_equal(d->ifaces[0].model, "virtio"); /* the default model */
	assert_string_equal(d->ifaces[1].bridge, "br0");
	assert_string_equal(d->ifaces[1].model, "e1000");
	assert_int_equal(d->graphics, VF_GRAPHICS_VNC);
	assert_string_equal(d->graphics_listen, "127.0.0.1");
	assert_true(d->serial_console);
	assert_contains(d->xml, "<console type='pty'>");
	assert_contains(d->xml, "<virtform:owner xmlns:virtform=\"" VF_METADATA_NS "\" name=\"web\"/>");

	vf_observed_free(&o);
	HV->close(c);
	unlink(tmp);
}

/* spec.serialConsole.log is libvirt's <log file append> on the serial port,
 * and observation reads it back for the plan's drift check. */
static void test_serial_console_log(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_object dom = domain_obj("console");
	dom.u.domain.serial_console = VF_TRI_TRUE;
	dom.u.domain.serial_log = vf_strdup("/var/log/libvirt/qemu/console-console.log");
	dom.u.domain.serial_log_append = true;
	OK(HV->domain_define(c, &dom, VF_DOMAIN_QEMU, err));
	vf_observed o = observe(c);
	vf_obs_domain *d = vf_observed_domain(&o, "console");
	assert_non_null(d);
	assert_true(d->serial_console);
	assert_string_equal(d->serial_log, "/var/log/libvirt/qemu/console-console.log");
	assert_true(d->serial_log_append);
	assert_contains(d->xml, "<log file='/var/log/libvirt/qemu/console-console.log' append='on'/>");
	vf_observed_free(&o);

	/* serialConsole: true again: no log */
	free(dom.u.domain.serial_log);
	dom.u.domain.serial_log = NULL;
	OK(HV->domain_define(c, &dom, VF_DOMAIN_QEMU, err));
	o = observe(c);
	d = vf_observed_domain(&o, "console");
	assert_true(d->serial_console);
	assert_null(d->serial_log);
	assert_false(d->serial_log_append);
	vf_observed_free(&o);
	vf_object_clear(&dom);
	HV->close(c);
}

static void test_redefine_in_place(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_object dom = domain_obj("small");
	OK(HV->domain_define(c, &dom, VF_DOMAIN_QEMU, err));
	dom.u.domain.has_vcpus = true;
	dom.u.domain.vcpus = 3;
	dom.u.domain.serial_console = VF_TRI_FALSE;
	OK(HV->domain_define(c, &dom, VF_DOMAIN_QEMU, err));

	vf_observed o = observe(c);
	size_t n = 0;
	for (size_t i = 0; i < o.n_domains; i++)
		n += vf_streq(o.domains[i].name, "small");
	assert_int_equal(n, 1);
	vf_obs_domain *d = vf_observed_domain(&o, "small");
	assert_int_equal(uuid_compare(d->uuid, dom.uuid), 0);
	assert_int_equal(d->vcpus, 3);
	assert_int_equal(d->memory, 512 * MIB); /* the default */
	assert_false(d->serial_console);
	assert_int_equal(d->graphics, VF_GRAPHICS_NONE);
	vf_observed_free(&o);
	vf_object_clear(&dom);
	HV->close(c);
}

static void test_hostile_names_round_trip(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_object dom = domain_obj(HOSTILE);
	vf_object pool = pool_obj(HOSTILE, "/hostile");
	OK(HV->domain_define(c, &dom, VF_DOMAIN_KVM, err));
	OK(ST->pool_define(c, &pool, err));
	OK(ST->pool_start(c, HOSTILE, err));

	vf_observed o = observe(c);
	vf_obs_domain *d = vf_observed_domain(&o, HOSTILE);
	assert_non_null(d);
	assert_string_equal(d->name, HOSTILE);
	assert_true(d->managed);
	assert_contains(d->xml, "name=\"a&lt;b&amp;&quot;c'\"");
	vf_obs_pool *p = vf_observed_pool(&o, HOSTILE);
	assert_non_null(p);
	assert_true(p->active);
	assert_int_equal(uuid_compare(p->uuid, pool.uuid), 0);
	vf_observed_free(&o);

	OK(HV->domain_undefine(c, HOSTILE, false, err));
	OK(ST->pool_undefine(c, HOSTILE, false, err));
	o = observe(c);
	assert_null(vf_observed_domain(&o, HOSTILE));
	assert_null(vf_observed_pool(&o, HOSTILE));
	vf_observed_free(&o);

	vf_object_clear(&dom);
	vf_object_clear(&pool);
	HV->close(c);
}

static void test_raw_xml_keeps_user_metadata(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_object dom = domain_obj("raw");
	dom.u.domain.xml = vf_strdup(
		"<domain type='test'>\n"
		"  <name>raw</name>\n"
		"  <metadata>\n"
		"    <app:info xmlns:app='urn:example:app'>keep &amp; me</app:info>\n"
		"    <virtform:owner xmlns:virtform='" VF_METADATA_NS "' name='stale'/>\n"
		"  </metadata>\n"
		"  <memory unit='MiB'>64</memory>\n"
		"  <vcpu>1</vcpu>\n"
		"  <os><type>hvm</type></os>\n"
		"</domain>\n");
	OK(HV->domain_define(c, &dom, VF_DOMAIN_KVM, err));

	vf_observed o = observe(c);
	vf_obs_domain *d = vf_observed_domain(&o, "raw");
	assert_non_null(d);
	assert_true(d->managed);
	assert_int_equal(uuid_compare(d->uuid, dom.uuid), 0); /* it had none: ours */
	assert_int_equal(d->memory, 64 * MIB);
	assert_contains(d->xml, "urn:example:app");
	assert_contains(d->xml, "keep &amp; me");
	assert_contains(d->xml, "name=\"raw\"");
	/* our old element is replaced, not duplicated (the record keeps the
	 * manifest's text, escaped, so "stale" is still in there) */
	const char *own = strstr(d->xml, "<virtform:owner ");
	assert_non_null(own);
	assert_null(strstr(own + 1, "<virtform:owner "));
	assert_null(strstr(own, "name=\"stale\""));
	vf_observed_free(&o);

	/* A UUID the user wrote is kept. */
	vf_object other = domain_obj("own-uuid");
	other.u.domain.xml = vf_strdup("<domain type='test'><name>own-uuid</name>"
				       "<uuid>11111111-2222-3333-4444-555555555555</uuid>"
				       "<memory>65536</memory><os><type>hvm</type></os></domain>");
	OK(HV->domain_define(c, &other, VF_DOMAIN_KVM, err));
	o = observe(c);
	char u[UUID_STR_LEN];
	uuid_str(vf_observed_domain(&o, "own-uuid")->uuid, u);
	assert_string_equal(u, "11111111-2222-3333-4444-555555555555");
	assert_true(vf_observed_domain(&o, "own-uuid")->managed);
	vf_observed_free(&o);

	vf_object_clear(&dom);
	vf_object_clear(&other);
	HV->close(c);
}

/* A define from spec.xml records, in virtform's own metadata element, the
 * digest of spec.xml and of libvirt's inactive XML read back right after
 * (virtform's element removed), and no text (the texts live in the state
 * directory): observation returns those digests and the live document in
 * the same form with its digest, so equal digests mean "untouched". */
static void test_raw_xml_records_what_libvirt_made(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_object dom = domain_obj("rec");
	dom.u.domain.xml = vf_strdup("<domain type='test'><name>rec</name>"
				     "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
				     "<os><type>hvm</type></os></domain>");
	vf_sha256_hex(dom.u.domain.xml, strlen(dom.u.domain.xml), dom.u.domain.xml_hash);
	OK(HV->domain_define(c, &dom, VF_DOMAIN_KVM, err));

	vf_observed o = observe(c);
	vf_obs_domain *d = vf_observed_domain(&o, "rec");
	assert_non_null(d);
	assert_true(d->managed);
	assert_non_null(d->applied.digest); /* recorded */
	assert_string_equal(d->applied.digest, dom.u.domain.xml_hash);
	assert_null(d->applied.manifest); /* texts: the state directory's */
	assert_null(d->applied.normalised);
	assert_null(strstr(d->xml, "&lt;domain")); /* no document inside the metadata */
	assert_non_null(d->xml_bare);
	assert_non_null(d->xml_bare_digest);
	char hex[65];
	vf_sha256_hex(d->xml_bare, strlen(d->xml_bare), hex);
	assert_string_equal(d->xml_bare_digest, hex);
	assert_string_equal(d->applied.normalised_digest, d->xml_bare_digest); /* untouched since */
	assert_null(strstr(d->xml_bare, "virtform"));
	assert_null(strstr(d->xml_bare, "<metadata"));
	assert_contains(d->xml_bare, "<memory unit=\"KiB\">65536</memory>"); /* libvirt's form */
	_cleanup_free_ char *first = vf_strdup(d->xml_bare);

	/* Behind virtform's back: the same document with 2 vCPUs. The record
	 * stays; the live document no longer hashes to it. */
	_cleanup_free_ char *xml = vf_strdup(d->xml);
	char *v = strstr(xml, ">1</vcpu>");
	assert_non_null(v);
	v[1] = '2';
	virDomainPtr raw = virDomainDefineXML(c->conn, xml);
	assert_non_null(raw);
	virDomainFree(raw);
	vf_observed_free(&o);
	o = observe(c);
	d = vf_observed_domain(&o, "rec");
	assert_string_equal(d->applied.digest, dom.u.domain.xml_hash);
	vf_sha256_hex(first, strlen(first), hex);
	assert_string_equal(d->applied.normalised_digest, hex);
	assert_string_not_equal(d->applied.normalised_digest, d->xml_bare_digest);
	assert_contains(d->xml_bare, ">2</vcpu>");

	/* A new manifest: a new record, equal to the live document again. */
	free(dom.u.domain.xml);
	dom.u.domain.xml = vf_strdup("<domain type='test'><name>rec</name>"
				     "<memory unit='MiB'>128</memory><vcpu>1</vcpu>"
				     "<os><type>hvm</type></os></domain>");
	vf_sha256_hex(dom.u.domain.xml, strlen(dom.u.domain.xml), dom.u.domain.xml_hash);
	OK(HV->domain_define(c, &dom, VF_DOMAIN_KVM, err));
	vf_observed_free(&o);
	o = observe(c);
	d = vf_observed_domain(&o, "rec");
	assert_string_equal(d->applied.digest, dom.u.domain.xml_hash);
	assert_string_equal(d->applied.normalised_digest, d->xml_bare_digest);
	assert_contains(d->xml_bare, "<memory unit=\"KiB\">131072</memory>");

	/* Structured domains carry no record. */
	vf_object plain = domain_obj("plain");
	OK(HV->domain_define(c, &plain, VF_DOMAIN_KVM, err));
	vf_observed_free(&o);
	o = observe(c);
	d = vf_observed_domain(&o, "plain");
	assert_non_null(d);
	assert_true(d->managed);
	assert_null(d->applied.digest);
	assert_null(d->xml_bare);
	vf_observed_free(&o);

	OK(HV->domain_undefine(c, "rec", false, err));
	OK(HV->domain_undefine(c, "plain", false, err));
	vf_object_clear(&dom);
	vf_object_clear(&plain);
	HV->close(c);
}

static void test_raw_xml_errors(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_error e = { 0 };
	vf_object dom = domain_obj("bad");
	dom.u.domain.xml_pos = (vf_pos){ .file = "bad.yaml", .line = 7, .col = 3 };
	dom.u.domain.xml = vf_strdup("<domain type='test'><name>bad</name>");
	assert_int_equal(HV->domain_define(c, &dom, VF_DOMAIN_KVM, &e), -VF_E_SCHEMA);
	assert_contains(e.message, "spec.xml of domain \"bad\" is not well-formed XML");
	assert_int_equal(e.pos.line, 7);

	free(dom.u.domain.xml);
	dom.u.domain.xml = vf_strdup("<domain type='test'><name>other</name></domain>");
	assert_int_equal(HV->domain_define(c, &dom, VF_DOMAIN_KVM, &e), -VF_E_SCHEMA);
	assert_contains(e.message, "names another domain");

	vf_observed o = observe(c);
	assert_null(vf_observed_domain(&o, "bad"));
	assert_null(vf_observed_domain(&o, "other"));
	vf_observed_free(&o);
	vf_error_clear(&e);
	vf_object_clear(&dom);
	HV->close(c);
}

/* ---- lifecycle ------------------------------------------------------------ */

static vf_run_state state_of(vf_conn *c, const char *name)
{
	vf_observed o = observe(c);
	vf_obs_domain *d = vf_observed_domain(&o, name);
	assert_non_null(d);
	vf_run_state s = d->state;
	vf_observed_free(&o);
	return s;
}

static void test_domain_lifecycle(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_object dom = domain_obj("life");
	dom.u.domain.has_vcpus = true;
	dom.u.domain.vcpus = 4;
	dom.u.domain.has_memory = true;
	dom.u.domain.memory = 2 * GIB;
	OK(HV->domain_define(c, &dom, VF_DOMAIN_QEMU, err));
	assert_int_equal(state_of(c, "life"), VF_RUN_SHUTOFF);

	OK(HV->domain_start(c, "life", err));
	vf_observed o = observe(c);
	vf_obs_domain *d = vf_observed_domain(&o, "life");
	assert_int_equal(d->state, VF_RUN_RUNNING);
	assert_int_equal(d->live_vcpus, 4);
	assert_int_equal(d->live_memory, 2 * GIB);
	vf_observed_free(&o);

	OK(HV->domain_set_vcpus_live(c, "life", 2, err));
	OK(HV->domain_set_memory_live(c, "life", 1 * GIB, err));
	o = observe(c);
	d = vf_observed_domain(&o, "life");
	assert_int_equal(d->live_vcpus, 2);
	assert_int_equal(d->live_memory, 1 * GIB);
	assert_int_equal(d->vcpus, 4); /* live changes leave the config alone */
	vf_observed_free(&o);

	OK(HV->domain_suspend(c, "life", err));
	assert_int_equal(state_of(c, "life"), VF_RUN_PAUSED);
	OK(HV->domain_resume(c, "life", err));
	assert_int_equal(state_of(c, "life"), VF_RUN_RUNNING);

	/* A running domain is not undefined behind the controller's back. */
	vf_error e = { 0 };
	assert_int_equal(HV->domain_undefine(c, "life", false, &e), -VF_E_DRIVER);
	assert_contains(e.message, "cannot undefine domain \"life\": it is still running");
	assert_int_equal(state_of(c, "life"), VF_RUN_RUNNING);

	OK(HV->domain_shutdown(c, "life", 1, err));
	assert_int_equal(state_of(c, "life"), VF_RUN_SHUTOFF);
	OK(HV->domain_shutdown(c, "life", 1, err)); /* already off */

	OK(HV->domain_set_autostart(c, "life", true, err));
	o = observe(c);
	assert_true(vf_observed_domain(&o, "life")->autostart);
	vf_observed_free(&o);

	OK(HV->domain_undefine(c, "life", true, err));
	o = observe(c);
	assert_null(vf_observed_domain(&o, "life"));
	vf_observed_free(&o);
	vf_error_clear(&e);
	vf_object_clear(&dom);
	HV->close(c);
}

/* One Network manifest loaded through the real loader; *d keeps it. */
static const vf_object *load_network(vf_desired *d, const char *yaml)
{
	_cleanup_free_ char *dir = vf_test_tmpdir("net");
	_cleanup_free_ char *file = vf_asprintf("%s/net.yaml", dir);
	vf_test_write_file(file, yaml);
	vf_diags diags = { 0 };
	const char *paths[] = { dir };
	if (vf_manifest_load(paths, 1, d, &diags) < 0)
		fail_msg("load: %s", diags.n ? diags.items[0].message : "?");
	vf_diags_free(&diags);
	vf_test_rm_tree(dir);
	assert_int_equal(d->n, 1);
	return &d->objs[0];
}

#define NET_YAML(extra)                                                                   \
	"apiVersion: virtform/v1\nkind: Network\nmetadata: {name: lab}\nspec:\n"            \
	"  bridge: {name: virbr-lab}\n  mtu: 1500\n  domain: {name: lab.example}\n"          \
	"  ips:\n    - address: 10.77.0.1\n      prefix: 24\n      dhcp:\n"                  \
	"        ranges: [{start: 10.77.0.100, end: 10.77.0.199}]\n"                         \
	"        hosts:\n          - {mac: \"52:54:00:00:00:10\", name: web1, ip: 10.77.0.10}\n" extra

/* A network defined from its spec reads back as the same description
 * (virtform's metadata, the derived MAC), is updated live (hosts added
 * and removed, DNS entries added, the bridge never restarted), restarted
 * and removed. */
static void test_network_lifecycle(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_desired d = { 0 };
	const vf_object *net = load_network(&d, NET_YAML(""));
	OK(HV->network_define(c, net, err));
	OK(HV->network_start(c, "lab", err));
	OK(HV->network_set_autostart(c, "lab", true, err));
	vf_observed o = observe(c);
	const vf_obs_network *n = vf_observed_network(&o, "lab");
	assert_non_null(n);
	assert_true(n->active);
	assert_true(n->managed);
	assert_memory_equal(n->uuid, net->uuid, 16);
	assert_string_equal(n->def.bridge, "virbr-lab");
	assert_int_equal(n->def.mtu, 1500);
	char mac[18];
	vf_net_mac_derive(net->uuid, mac);
	assert_string_equal(n->def.mac, mac);
	assert_int_equal(n->def.n_ips, 1);
	assert_int_equal(n->def.ips[0].prefix, 24);
	assert_string_equal(n->def.ips[0].hosts[0].mac, "52:54:00:00:00:10");
	assert_string_equal(n->def.ips[0].ranges[0].start, "10.77.0.100");
	assert_true(o.n_hostifs > 0); /* the test driver's interfaces */
	vf_observed_free(&o);

	/* live: web1 goes, web2 and a DNS host and TXT record come */
	vf_desired d2 = { 0 };
	const vf_object *net2 = load_network(&d2, "apiVersion: virtform/v1\nkind: Network\nmetadata: {name: lab}\nspec:\n"
		"  bridge: {name: virbr-lab}\n  mtu: 1500\n  domain: {name: lab.example}\n"
		"  ips:\n    - address: 10.77.0.1\n      prefix: 24\n      dhcp:\n"
		"        ranges: [{start: 10.77.0.100, end: 10.77.0.199}]\n"
		"        hosts:\n          - {mac: \"52:54:00:00:00:11\", name: web2, ip: 10.77.0.11}\n"
		"  dns:\n    hosts: [{ip: 10.77.0.11, names: [web2]}]\n    txt: [{name: lab, value: v1}]\n");
	OK(HV->network_update_live(c, net2, err));
	o = observe(c);
	n = vf_observed_network(&o, "lab");
	assert_true(n->active);
	assert_int_equal(n->def.ips[0].n_hosts, 1);
	assert_string_equal(n->def.ips[0].hosts[0].name, "web2");
	assert_int_equal(n->def.n_dns_hosts, 1);
	assert_string_equal(n->def.dns_hosts[0].names[0], "web2");
	assert_int_equal(n->def.n_txt, 1);
	vf_observed_free(&o);
	/* the probe found the right argument order on this (fixed) libvirt,
	 * and tells the swapped answer (libvirt's words for section 2) apart */
	assert_int_equal(c->netupdate_order, 1);
	assert_false(vf_lv__netupdate_swapped(-1, "Requested operation is not valid: couldn't locate a matching DNS TXT record in network lab"));
	assert_true(vf_lv__netupdate_swapped(-1, "this function is not supported by the connection driver: can't update 'domain' section of network 'txt-lab'"));
	assert_false(vf_lv__netupdate_swapped(-1, "this function is not supported by the connection driver: virNetworkUpdate"));
	assert_false(vf_lv__netupdate_swapped(0, NULL));

	OK(HV->network_restart(c, "lab", err));
	OK(HV->network_undefine(c, "lab", err));
	o = observe(c);
	assert_null(vf_observed_network(&o, "lab"));
	vf_observed_free(&o);
	vf_desired_free(&d);
	vf_desired_free(&d2);
	HV->close(c);
}

/* The plan of one loaded network against the host, as `virtform plan`
 * prints it; the network is in the ledger. Caller frees. */
static char *plan_of(vf_conn *c, const vf_desired *d)
{
	vf_observed o = observe(c);
	vf_ledger l = { 0 };
	vf_ledger_put(&l, VF_KIND_NETWORK, NULL, d->objs[0].name, d->objs[0].uuid);
	vf_plan plan = { 0 };
	vf_diags conflicts = { 0 };
	vf_plan_opts opts = { 0 };
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	if (vf_plan_build(d, &o, &l, &opts, &plan, &conflicts) == 0)
		vf_plan_print_text(m, &plan, false);
	else
		fprintf(m, "rejected: %s\n", conflicts.items[0].message);
	fclose(m);
	vf_plan_free(&plan);
	vf_diags_free(&conflicts);
	vf_ledger_free(&l);
	vf_observed_free(&o);
	return out;
}

#define RAW_NET(extra)                                                                      \
	"apiVersion: virtform/v1\nkind: Network\nmetadata: {name: rawnet}\nspec:\n  xml: |\n"    \
	"    <network>\n      <name>rawnet</name>\n      <forward mode='nat'/>\n" extra          \
	"      <ip address='10.79.0.1' netmask='255.255.255.0'/>\n    </network>\n"

/* A network from spec.xml records what was sent and what libvirt made of
 * it (libvirt adds a bridge, a MAC, writes the netmask its own way): the
 * next plan is empty; a change made behind virtform's back shows, and so
 * does a change of the manifest. */
static void test_network_raw_xml_three_ways(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_desired d = { 0 };
	const vf_object *net = load_network(&d, RAW_NET(""));
	OK(HV->network_define(c, net, err));
	vf_observed o = observe(c);
	const vf_obs_network *n = vf_observed_network(&o, "rawnet");
	assert_non_null(n);
	assert_true(n->managed);
	assert_non_null(n->applied.digest);
	assert_string_equal(n->applied.digest, net->u.network.xml_hash);
	assert_string_equal(n->applied.normalised, n->xml_bare);
	vf_observed_free(&o);
	_cleanup_free_ char *p1 = plan_of(c, &d);
	assert_string_equal(p1, "~ Network/rawnet: 2 fields differ from the manifest\n"
				"    spec.state: inactive → active (live)\n"
				"    spec.autostart: false → true (live)\n"
				"\nPlan: 0 to create, 1 to update, 0 to remove, 0 blocked.\n");
	OK(HV->network_start(c, "rawnet", err));
	OK(HV->network_set_autostart(c, "rawnet", true, err));
	_cleanup_free_ char *p2 = plan_of(c, &d);
	assert_string_equal(p2, "No changes. The host matches the manifests.\n");

	/* behind virtform's back: the same document with an MTU (stopped
	 * first: the test driver shows a running network's live definition) */
	virNetworkPtr h = virNetworkLookupByName(c->conn, "rawnet");
	assert_int_equal(virNetworkDestroy(h), 0);
	char *live = virNetworkGetXMLDesc(h, 0);
	_cleanup_free_ char *changed = NULL;
	char *at = strstr(live, "</network>");
	*at = '\0';
	changed = vf_asprintf("%s<mtu size='1400'/></network>", live);
	free(live);
	virNetworkFree(virNetworkDefineXML(c->conn, changed));
	virNetworkFree(h);
	_cleanup_free_ char *p3 = plan_of(c, &d);
	assert_contains(p3, "changed outside virtform since the last apply");
	assert_contains(p3, "xml:/network/mtu: <mtu> → (none) (live)");

	/* the manifest changes: the difference from the one applied */
	vf_desired d2 = { 0 };
	load_network(&d2, RAW_NET("      <domain name='raw.example'/>\n"));
	_cleanup_free_ char *p4 = plan_of(c, &d2);
	assert_contains(p4, "xml:/network/domain: (none) → <domain> (live)");
	OK(HV->network_undefine(c, "rawnet", err));
	vf_desired_free(&d);
	vf_desired_free(&d2);
	HV->close(c);
}

/* Enough objects that observe reads them on several threads: every one is
 * there, once, in listing order, each with its own XML. */
static void test_observe_many_in_parallel(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	enum { N = 90 };
	for (int i = 0; i < N; i++) {
		_cleanup_free_ char *vn = vf_asprintf("many%02d.raw", i);
		vf_object vol = volume_obj("default-pool", vn, (uint64_t)(i + 1) * MIB);
		vol.u.volume.format = VF_VOL_RAW;
		OK(ST->volume_create(c, &vol, err));
		vf_object_clear(&vol);
		_cleanup_free_ char *dn = vf_asprintf("many%02d", i);
		vf_object dom = domain_obj(dn);
		dom.u.domain.has_vcpus = true;
		dom.u.domain.vcpus = (unsigned)(i % 4) + 1;
		dom.u.domain.memory = 128 * MIB;
		OK(HV->domain_define(c, &dom, VF_DOMAIN_KVM, err));
		vf_object_clear(&dom);
	}
	vf_observed o = observe(c);
	size_t vols = 0, doms = 0;
	for (int i = 0; i < N; i++) {
		_cleanup_free_ char *vn = vf_asprintf("many%02d.raw", i);
		vf_obs_volume *v = vf_observed_volume(&o, "default-pool", vn);
		assert_non_null(v);
		assert_int_equal(v->capacity, (uint64_t)(i + 1) * MIB);
		_cleanup_free_ char *dn = vf_asprintf("many%02d", i);
		const vf_obs_domain *d = NULL;
		for (size_t k = 0; k < o.n_domains; k++)
			if (strcmp(o.domains[k].name, dn) == 0) {
				assert_null(d); /* once */
				d = &o.domains[k];
			}
		if (!d) {
			fail_msg("domain %s not observed", dn);
			return;
		}
		assert_int_equal(d->vcpus, (unsigned)(i % 4) + 1);
		assert_non_null(strstr(d->xml, dn));
	}
	for (size_t k = 0; k < o.n_volumes; k++)
		vols += strncmp(o.volumes[k].name, "many", 4) == 0;
	for (size_t k = 0; k < o.n_domains; k++)
		doms += strncmp(o.domains[k].name, "many", 4) == 0;
	assert_int_equal(vols, N);
	assert_int_equal(doms, N);
	/* listing order: what a second observation sees, element by element */
	vf_observed o2 = observe(c);
	assert_int_equal(o2.n_domains, o.n_domains);
	for (size_t k = 0; k < o.n_domains; k++)
		assert_string_equal(o2.domains[k].name, o.domains[k].name);
	vf_observed_free(&o2);
	vf_observed_free(&o);
	HV->close(c);
}

/* ---- storage -------------------------------------------------------------- */

/* The path apply metadata-locks for a volume it created in the same run:
 * the one observation reports. Local URIs only. */
static void test_volume_path_and_locality(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	assert_true(HV->files_local(c));
	assert_true(vf_lv_uri_local("qemu:///system"));
	/* A host part, even localhost (maybe a tunnel to another machine), is
	 * decided by the host's identity (tests/integration/test_13_local.sh). */
	assert_false(vf_lv_uri_local("qemu+ssh://localhost/system"));
	assert_true(vf_lv_uri_local("qemu+unix:///system?socket=/run/x.sock"));
	assert_false(vf_lv_uri_local("qemu+ssh://root@kvm7.example.org/system"));
	assert_false(vf_lv_uri_local("qemu+tls://10.0.0.7/system"));
	vf_object vol = volume_obj("default-pool", "where.raw", 1 * GIB);
	vol.u.volume.format = VF_VOL_RAW;
	OK(ST->volume_create(c, &vol, err));
	char *path = NULL;
	OK(ST->volume_path(c, "default-pool", "where.raw", &path, err));
	vf_observed o = observe(c);
	vf_obs_volume *v = vf_observed_volume(&o, "default-pool", "where.raw");
	assert_non_null(v);
	assert_string_equal(path, v->path);
	free(path);
	vf_error e = { 0 };
	assert_int_equal(ST->volume_path(c, "default-pool", "nope.raw", &path, &e), -VF_E_DRIVER);
	assert_null(path);
	assert_contains(e.message, "volume \"nope.raw\" in storage pool \"default-pool\"");
	vf_error_clear(&e);
	vf_observed_free(&o);
	vf_object_clear(&vol);
	HV->close(c);
}

/* Rule 10's identity: libvirt's host UUID (capabilities <host><uuid>) and
 * name. The test driver reports no host UUID in its capabilities (checked
 * here, so that a libvirt that starts to report one is noticed), and
 * the host name is the machine's, as libvirt's test driver gives it. */
static void test_host_identity(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	assert_non_null(HV->host_identity);
	vf_host_id h = { 0 };
	OK(HV->host_identity(c, &h, err));
	assert_string_equal(h.uri, "test:///default");
	assert_null(h.uuid);
	assert_false(h.uuid_hardware);
	char name[256] = "";
	assert_int_equal(gethostname(name, sizeof(name) - 1), 0);
	assert_non_null(h.hostname);
	assert_non_null(strstr(h.hostname, name)); /* libvirt may qualify it */
	vf_host_id_clear(&h);
	vf_host_id_clear(&h); /* clearing twice is harmless */
	HV->close(c);
}

static void test_volume_resize_grows_only(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_object vol = volume_obj("default-pool", "grow.raw", 1 * GIB);
	vol.u.volume.format = VF_VOL_RAW;
	OK(ST->volume_create(c, &vol, err));

	vf_error e = { 0 };
	assert_int_equal(ST->volume_resize(c, "default-pool", "grow.raw", 512 * MIB, &e),
			 -VF_E_BLOCKED);
	assert_contains(e.message, "refusing to shrink volume \"grow.raw\"");
	OK(ST->volume_resize(c, "default-pool", "grow.raw", 1 * GIB, err)); /* same size: nothing to do */

	int r = ST->volume_resize(c, "default-pool", "grow.raw", 2 * GIB, &e);
	vf_observed o = observe(c);
	vf_obs_volume *v = vf_observed_volume(&o, "default-pool", "grow.raw");
	assert_non_null(v);
	assert_int_equal(v->format, VF_VOL_RAW);
	if (r == 0) {
		assert_int_equal(v->capacity, 2 * GIB);
	} else {
		/* libvirt 9.0's test driver has no virStorageVolResize: the
		 * error says so in libvirt's words and nothing changed. */
		assert_int_equal(r, -VF_E_DRIVER);
		assert_contains(e.message, "cannot resize volume \"grow.raw\" in storage pool \"default-pool\": ");
		assert_contains(e.message, "not supported");
		assert_int_equal(v->capacity, 1 * GIB);
	}
	vf_observed_free(&o);

	OK(ST->volume_delete(c, "default-pool", "grow.raw", err));
	o = observe(c);
	assert_null(vf_observed_volume(&o, "default-pool", "grow.raw"));
	vf_observed_free(&o);
	vf_error_clear(&e);
	vf_object_clear(&vol);
	HV->close(c);
}

static void test_volume_create_refuses_clash_and_inactive_pool(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_error e = { 0 };
	vf_object vol = volume_obj("default-pool", "once.qcow2", 1 * GIB);
	OK(ST->volume_create(c, &vol, err));
	assert_int_equal(ST->volume_create(c, &vol, &e), -VF_E_CONFLICT);
	assert_contains(e.message, "/default-pool/once.qcow2 already exists");

	vf_object pool = pool_obj("cold", "/cold");
	OK(ST->pool_define(c, &pool, err));
	vf_object cold = volume_obj("cold", "x.qcow2", 1 * GIB);
	assert_int_equal(ST->volume_create(c, &cold, &e), -VF_E_DRIVER);
	assert_contains(e.message, "storage pool \"cold\" is not active");

	vf_object orphan = volume_obj("default-pool", "child.qcow2", 1 * GIB);
	orphan.u.volume.has_backing = true;
	orphan.u.volume.backing = (vf_volref){ .pool = vf_strdup("default-pool"), .name = vf_strdup("missing") };
	assert_int_equal(ST->volume_create(c, &orphan, &e), -VF_E_DRIVER);
	assert_contains(e.message, "cannot find backing volume \"missing\"");

	vf_error_clear(&e);
	vf_object_clear(&vol);
	vf_object_clear(&pool);
	vf_object_clear(&cold);
	vf_object_clear(&orphan);
	HV->close(c);
}

static void test_pool_lifecycle_and_delete_data(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_object pool = pool_obj("scratch", "/scratch");
	OK(ST->pool_define(c, &pool, err));
	OK(ST->pool_start(c, "scratch", err));
	OK(ST->pool_start(c, "scratch", err)); /* already active */
	vf_object vol = volume_obj("scratch", "junk.qcow2", 1 * GIB);
	OK(ST->volume_create(c, &vol, err));

	/* Redefining an active pool in place keeps it running with its volume. */
	OK(ST->pool_define(c, &pool, err));
	vf_observed o = observe(c);
	assert_true(vf_observed_pool(&o, "scratch")->active);
	assert_non_null(vf_observed_volume(&o, "scratch", "junk.qcow2"));
	vf_observed_free(&o);

	OK(ST->pool_stop(c, "scratch", err));
	o = observe(c);
	assert_false(vf_observed_pool(&o, "scratch")->active);
	assert_null(vf_observed_volume(&o, "scratch", "junk.qcow2")); /* inactive: not listed */
	vf_observed_free(&o);

	/* Deleting its data while it still holds a volume is refused, and
	 * both stay: the caller deletes the volumes it owns first, one by
	 * one, so a volume that is still there is one it did not plan for. */
	vf_error e = { 0 };
	assert_int_equal(ST->pool_undefine(c, "scratch", true, &e), -VF_E_BLOCKED);
	assert_contains(e.message, "still holds 1 volume the plan did not delete (\"junk.qcow2\" first)");
	vf_error_clear(&e);
	o = observe(c);
	assert_non_null(vf_observed_pool(&o, "scratch"));
	assert_non_null(vf_observed_volume(&o, "scratch", "junk.qcow2"));
	vf_observed_free(&o);

	OK(ST->volume_delete(c, "scratch", "junk.qcow2", err));
	OK(ST->pool_undefine(c, "scratch", true, err));
	o = observe(c);
	assert_null(vf_observed_pool(&o, "scratch"));
	assert_null(vf_observed_volume(&o, "scratch", "junk.qcow2"));
	vf_observed_free(&o);
	vf_object_clear(&pool);
	vf_object_clear(&vol);
	HV->close(c);
}

/* ---- one object at a time (the watch daemon's cache) ------------------------ */

/* How many objects the cache has wrong against a fresh observation. */
static size_t cache_wrong(vf_conn *c, const vf_observed *cache)
{
	vf_observed fresh = observe(c);
	size_t n = vf_observed_compare(cache, &fresh, NULL, NULL, NULL);
	vf_observed_free(&fresh);
	return n;
}

static void reread(vf_conn *c, vf_kind kind, const char *name, const char *pool, vf_observed *cache)
{
	vf_obj_ref ref = { .kind = kind, .name = name, .pool = pool };
	OK(HV->observe_object(c, &ref, true, cache, err));
}

/* A cache kept by re-reading only the objects that changed agrees with a
 * fresh observation after every change, and reading one domain costs the
 * same number of libvirt calls however many other domains there are. */
static void test_observe_object_keeps_a_cache(void **state)
{
	(void)state;
	vf_conn *c = open_uri("test:///default");
	vf_observed cache = observe(c);
	vf_object dom = domain_obj("cached");
	OK(HV->domain_define(c, &dom, VF_DOMAIN_QEMU, err));
	assert_int_equal(cache_wrong(c, &cache), 1); /* the compare sees it */
	reread(c, VF_KIND_DOMAIN, "cached", NULL, &cache);
	assert_int_equal(cache_wrong(c, &cache), 0);

	OK(HV->domain_start(c, "cached", err));
	assert_int_equal(cache_wrong(c, &cache), 1);
	/* by UUID, as an event names it */
	vf_obj_ref ref = { .kind = VF_KIND_DOMAIN, .name = "cached", .has_uuid = true };
	uuid_copy(ref.uuid, dom.uuid);
	OK(HV->observe_object(c, &ref, false, &cache, err));
	assert_int_equal(cache_wrong(c, &cache), 0);
	assert_int_equal(vf_observed_domain(&cache, "cached")->state, VF_RUN_RUNNING);

	uint64_t before = HV->observe_calls();
	reread(c, VF_KIND_DOMAIN, "cached", NULL, &cache);
	uint64_t alone = HV->observe_calls() - before;
	char name[32];
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "other-%d", i);
		vf_object o = domain_obj(name);
		OK(HV->domain_define(c, &o, VF_DOMAIN_QEMU, err));
		vf_object_clear(&o);
	}
	before = HV->observe_calls();
	reread(c, VF_KIND_DOMAIN, "cached", NULL, &cache);
	assert_int_equal(HV->observe_calls() - before, alone);
	assert_true(alone > 0 && alone <= 8);

	OK(HV->domain_shutdown(c, "cached", 1, err));
	OK(HV->domain_undefine(c, "cached", true, err));
	reread(c, VF_KIND_DOMAIN, "cached", NULL, &cache);
	assert_null(vf_observed_domain(&cache, "cached"));
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "other-%d", i);
		reread(c, VF_KIND_DOMAIN, name, NULL, &cache);
	}
	assert_int_equal(cache_wrong(c, &cache), 0);

	/* A pool comes with its volumes; a volume is read with its pool. */
	vf_object pool = pool_obj("cpool", "/cpool");
	OK(ST->pool_define(c, &pool, err));
	OK(ST->pool_start(c, "cpool", err));
	vf_object vol = volume_obj("cpool", "v.qcow2", 1 * GIB);
	OK(ST->volume_create(c, &vol, err));
	assert_true(cache_wrong(c, &cache) >= 2);
	reread(c, VF_KIND_POOL, "cpool", NULL, &cache);
	assert_int_equal(cache_wrong(c, &cache), 0);
	assert_non_null(vf_observed_volume(&cache, "cpool", "v.qcow2"));

	/* An event's read (not fresh) reads only the volumes new to the
	 * cache: its cost does not grow with what the pool holds. */
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "m%d.qcow2", i);
		vf_object m = volume_obj("cpool", name, 1 * MIB);
		OK(ST->volume_create(c, &m, err));
		vf_object_clear(&m);
	}
	vf_obj_ref pref = { .kind = VF_KIND_POOL, .name = "cpool" };
	OK(HV->observe_object(c, &pref, false, &cache, err));
	assert_int_equal(cache_wrong(c, &cache), 0);
	before = HV->observe_calls();
	OK(HV->observe_object(c, &pref, false, &cache, err));
	uint64_t by_event = HV->observe_calls() - before;
	assert_int_equal(cache_wrong(c, &cache), 0);
	before = HV->observe_calls();
	reread(c, VF_KIND_POOL, "cpool", NULL, &cache);
	assert_true(HV->observe_calls() - before >= by_event + 7); /* + refresh + 7 volumes */
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "m%d.qcow2", i);
		OK(ST->volume_delete(c, "cpool", name, err));
	}
	reread(c, VF_KIND_POOL, "cpool", NULL, &cache);
	assert_int_equal(cache_wrong(c, &cache), 0);

	OK(ST->volume_delete(c, "cpool", "v.qcow2", err));
	assert_int_equal(cache_wrong(c, &cache), 1);
	reread(c, VF_KIND_VOLUME, "v.qcow2", "cpool", &cache);
	assert_int_equal(cache_wrong(c, &cache), 0);
	OK(ST->pool_undefine(c, "cpool", true, err));
	reread(c, VF_KIND_POOL, "cpool", NULL, &cache);
	assert_null(vf_observed_pool(&cache, "cpool"));
	assert_int_equal(cache_wrong(c, &cache), 0);

	vf_observed_free(&cache);
	vf_object_clear(&pool);
	vf_object_clear(&vol);
	vf_object_clear(&dom);
	HV->close(c);
}

/* ---- errors --------------------------------------------------------------- */

static void test_errors_carry_libvirt_message(void **state)
{
	(void)state;
	vf_error e = { 0 };
	vf_conn *bad = NULL;
	assert_int_equal(HV->open("test:///nonexistent/virtform/state.xml", NULL, &bad, &e),
			 -VF_E_DRIVER);
	assert_null(bad);
	assert_contains(e.message, "cannot connect to libvirt at \"test:///nonexistent/virtform/state.xml\": ");

	vf_conn *c = open_uri("test:///default");
	assert_int_equal(HV->domain_start(c, "nope", &e), -VF_E_DRIVER);
	assert_int_equal(e.code, VF_E_DRIVER);
	assert_contains(e.message, "cannot start domain \"nope\": ");
	assert_contains(e.message, "Domain not found"); /* libvirt's own words */

	assert_int_equal(HV->domain_start(c, "test", &e), -VF_E_DRIVER); /* already running */
	assert_contains(e.message, "cannot start domain \"test\": ");
	assert_contains(e.message, "already running");

	assert_int_equal(ST->pool_start(c, "nopool", &e), -VF_E_DRIVER);
	assert_contains(e.message, "cannot start storage pool \"nopool\": ");
	assert_contains(e.message, "nopool");

	assert_int_equal(ST->volume_delete(c, "default-pool", "nothing", &e), -VF_E_DRIVER);
	assert_contains(e.message, "cannot delete volume \"nothing\" in storage pool \"default-pool\": ");

	vf_error_clear(&e);
	HV->close(c);
	HV->close(NULL);
}

/* ---- opening, bounded ----------------------------------------------------- */

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A unix socket that listens and never accepts: the kernel completes the
 * client's connect, and libvirt's handshake then waits for an answer that
 * never comes, as with a SIGSTOPped libvirtd. libvirt has no timeout of
 * its own there; the open must give up after connect_timeout_s. */
static void test_open_gives_up_on_a_silent_peer(void **state)
{
	(void)state;
	char dir[] = "/tmp/vf-test-silent-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	_cleanup_free_ char *uri = vf_asprintf("qemu+unix:///system?socket=%s", sa.sun_path);

	vf_error e = { 0 };
	vf_conn *c = NULL;
	double t0 = now_s();
	assert_int_equal(HV->open(uri, &(vf_conn_opts){ .connect_timeout_s = 1 }, &c, &e),
			 -VF_E_CONNECTION);
	double took = now_s() - t0;
	assert_null(c);
	assert_int_equal(e.code, VF_E_CONNECTION);
	_cleanup_free_ char *want = vf_asprintf(
		"cannot reach %s: no answer from libvirtd within 1 s while opening the connection", uri);
	assert_contains(e.message, want);
	assert_true(took >= 0.9 && took < 3.0);
	vf_error_clear(&e);

	/* The peer goes away: the abandoned open fails on its own thread and
	 * frees what it holds (sanitizer builds check that nothing leaks). */
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
	usleep(300 * 1000);

	/* A peer that answers is not held to the bound's full length. */
	t0 = now_s();
	assert_int_equal(HV->open("test:///default", &(vf_conn_opts){ .connect_timeout_s = 5 }, &c, &e), 0);
	assert_true(now_s() - t0 < 2.0);
	assert_false(c->keepalive); /* the test driver has no transport to keep alive */
	HV->close(c);
	/* 0: wait as long as it takes */
	assert_int_equal(HV->open("test:///default", &(vf_conn_opts){ 0 }, &c, &e), 0);
	HV->close(c);
}

/* A container's XML (type lxc) as libvirt's LXC driver reads it, and read
 * back into observed state: init, args, env, every filesystem type, idmap,
 * a console, and none of a VM's elements. (The test driver defines only
 * type "test", so the define itself is proven by test_16_lxc.) */
static void test_container_xml_round_trip(void **state)
{
	(void)state;
	vf_object ct = domain_obj("ct");
	vf_domain_spec *s = &ct.u.domain;
	s->type = VF_DOMAIN_LXC;
	s->has_memory = true;
	s->memory = 64ull << 20;
	s->init.path = vf_strdup("/bin/sh");
	s->init.args = vf_calloc(2, sizeof(char *));
	s->init.args[s->init.n_args++] = vf_strdup("-c");
	s->init.args[s->init.n_args++] = vf_strdup("echo <hi> & bye");
	s->init.env = vf_calloc(1, sizeof(vf_kv));
	s->init.env[s->init.n_env++] = (vf_kv){ vf_strdup("MARK"), vf_strdup("m 42") };
	s->filesystems = vf_calloc(4, sizeof(vf_filesystem));
	s->filesystems[s->n_filesystems++] = (vf_filesystem){ .source = vf_strdup("/srv/data"),
							      .target = vf_strdup("/data"),
							      .readonly = true };
	s->filesystems[s->n_filesystems++] = (vf_filesystem){ .type = VF_FS_BLOCK,
							      .source = vf_strdup("/dev/vg0/log"),
							      .target = vf_strdup("/var/log") };
	s->filesystems[s->n_filesystems++] = (vf_filesystem){ .type = VF_FS_FILE,
							      .source = vf_strdup("/srv/img.raw"),
							      .target = vf_strdup("/img") };
	s->filesystems[s->n_filesystems++] = (vf_filesystem){ .type = VF_FS_RAM,
							      .target = vf_strdup("/tmp"),
							      .usage = 16ull << 20 };
	s->uidmap = vf_calloc(1, sizeof(vf_idmap_range));
	s->uidmap[s->n_uidmap++] = (vf_idmap_range){ 0, 100000, 65536, { 0 } };
	s->gidmap = vf_calloc(1, sizeof(vf_idmap_range));
	s->gidmap[s->n_gidmap++] = (vf_idmap_range){ 0, 200000, 1000, { 0 } };
	vf_lv_disk_info info = { 0 };
	_cleanup_free_ char *xml = vf_lv__domain_xml(&ct, "lxc", &info);
	assert_non_null(strstr(xml, "<type>exe</type>"));
	assert_non_null(strstr(xml, "<initarg>echo &lt;hi&gt; &amp; bye</initarg>"));
	assert_non_null(strstr(xml, "<source usage=\"16384\" units=\"KiB\"/>"));
	assert_non_null(strstr(xml, "<target type=\"lxc\" port=\"0\"/>"));
	assert_null(strstr(xml, "<features>"));
	assert_null(strstr(xml, "<serial"));
	assert_null(strstr(xml, "hvm"));

	vf_obs_domain d = { 0 };
	OK(vf_lv__parse_domain(xml, &d, err));
	assert_string_equal(d.type, "lxc");
	assert_string_equal(d.init, "/bin/sh");
	assert_int_equal(d.n_init_args, 2);
	assert_string_equal(d.init_args[1], "echo <hi> & bye");
	assert_int_equal(d.n_init_env, 1);
	assert_string_equal(d.init_env[0].key, "MARK");
	assert_string_equal(d.init_env[0].value, "m 42");
	assert_int_equal(d.n_filesystems, 4);
	assert_int_equal(d.filesystems[0].type, VF_FS_MOUNT);
	assert_string_equal(d.filesystems[0].source, "/srv/data");
	assert_true(d.filesystems[0].readonly);
	assert_int_equal(d.filesystems[1].type, VF_FS_BLOCK);
	assert_string_equal(d.filesystems[1].source, "/dev/vg0/log");
	assert_int_equal(d.filesystems[2].type, VF_FS_FILE);
	assert_string_equal(d.filesystems[2].target, "/img");
	assert_int_equal(d.filesystems[3].type, VF_FS_RAM);
	assert_int_equal(d.filesystems[3].usage, 16ull << 20);
	assert_int_equal(d.n_uidmap, 1);
	assert_int_equal(d.uidmap[0].target, 100000);
	assert_int_equal(d.gidmap[0].count, 1000);
	assert_true(d.serial_console);
	assert_true(d.managed);

	vf_observed obs = { 0 };
	obs.domains = vf_calloc(1, sizeof(d));
	obs.domains[0] = d;
	obs.n_domains = 1;
	vf_observed_free(&obs);
	vf_object_clear(&ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keepalive_per_transport),
		cmocka_unit_test(test_libssh_calls_never_overlap),
		cmocka_unit_test(test_observe_default_host),
		cmocka_unit_test(test_observe_state_file),
		cmocka_unit_test(test_observe_changes_nothing),
		cmocka_unit_test(test_observe_pool_contents),
		cmocka_unit_test(test_define_and_observe_back),
		cmocka_unit_test(test_redefine_in_place),
		cmocka_unit_test(test_serial_console_log),
		cmocka_unit_test(test_hostile_names_round_trip),
		cmocka_unit_test(test_raw_xml_keeps_user_metadata),
		cmocka_unit_test(test_raw_xml_records_what_libvirt_made),
		cmocka_unit_test(test_raw_xml_errors),
		cmocka_unit_test(test_domain_lifecycle),
		cmocka_unit_test(test_network_lifecycle),
		cmocka_unit_test(test_network_raw_xml_three_ways),
		cmocka_unit_test(test_observe_many_in_parallel),
		cmocka_unit_test(test_volume_path_and_locality),
		cmocka_unit_test(test_host_identity),
		cmocka_unit_test(test_volume_resize_grows_only),
		cmocka_unit_test(test_volume_create_refuses_clash_and_inactive_pool),
		cmocka_unit_test(test_pool_lifecycle_and_delete_data),
		cmocka_unit_test(test_observe_object_keeps_a_cache),
		cmocka_unit_test(test_errors_carry_libvirt_message),
		cmocka_unit_test(test_open_gives_up_on_a_silent_peer),
		cmocka_unit_test(test_container_xml_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
