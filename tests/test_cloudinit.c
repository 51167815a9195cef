/* test_cloudinit.c: cloud-init seeds (docs/cloud-init.md). spec.cloudInit
 * renders to the exact texts cloud-init will read (inline mappings emitted
 * as YAML with the #cloud-config header, strings verbatim, files relative
 * to the manifest, the default meta-data); bad input fails at its
 * file:line:col; the hash moves only with the content; the ISO written with
 * libisofs reads back (with libisofs) as volume "cidata" holding exactly
 * those files; the planner and the libvirt driver (test:///default) attach
 * and track the seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <libisofs/libisofs.h>

#include "controller/load/cloudinit.h"
#include "controller/load/manifest.h"
#include "controller/plan/plan.h"
#include "controller/plan/planprint.h"
#include "drivers/seed/seed.h"

/* ---- harness -------------------------------------------------------------- */

/* p, failing the test when it is NULL (and telling the compiler so). */
#define NN(p)                                                    \
	({                                                       \
		__typeof__(p) nn_ = (p);                         \
		if (!nn_) {                                      \
			fail_msg("%s is NULL", #p);              \
			abort();                                 \
		}                                                \
		nn_;                                             \
	})

static char tmpdir[64];

static int setup_dir(void **state)
{
	strcpy(tmpdir, "/tmp/vf-cloudinit-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown_dir(void **state)
{
	_cleanup_free_ char *cmd = vf_asprintf("rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static char *tpath(const char *name)
{
	return vf_asprintf("%s/%s", tmpdir, name);
}

static void write_file(const char *name, const char *text)
{
	_cleanup_free_ char *p = tpath(name);
	_cleanup_free_ char *dir = vf_strdup(p);
	*strrchr(dir, '/') = '\0';
	mkdir(dir, 0755);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A pool, a volume and domain "web" whose spec ends with `extra` (lines
 * indented by two spaces, under spec:). */
static char *domain_yaml(const char *extra)
{
	return vf_asprintf("apiVersion: virtform/v1\n"
			   "kind: Domain\n"
			   "metadata:\n"
			   "  name: web\n"
			   "spec:\n"
			   "  disks:\n"
			   "    - volume: {pool: images, name: web.qcow2}\n"
			   "%s",
			   extra);
}

/* Load `name` (written with `text`) from tmpdir; returns the rc. */
static int load_text(const char *name, const char *text, vf_desired *d, vf_diags *diags)
{
	write_file(name, text);
	_cleanup_free_ char *p = tpath(name);
	const char *paths[] = { p };
	return vf_manifest_load(paths, 1, d, diags);
}

static const vf_object *load_ok(const char *extra, vf_desired *d)
{
	vf_diags diags = { 0 };
	_cleanup_free_ char *y = domain_yaml(extra);
	int r = load_text("web.yaml", y, d, &diags);
	if (r < 0)
		fail_msg("load failed: %s (line %d:%d)", diags.items[0].message,
			 diags.items[0].pos.line, diags.items[0].pos.col);
	vf_diags_free(&diags);
	const vf_object *o = vf_desired_find(d, VF_KIND_DOMAIN, NULL, "web");
	assert_non_null(o);
	return o;
}

/* Every diag as "LINE:COL: MESSAGE\n" (file name left out: it is the temp dir). */
static char *load_errors(const char *extra)
{
	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	_cleanup_free_ char *y = domain_yaml(extra);
	assert_true(load_text("web.yaml", y, &d, &diags) < 0);
	vf_buf b = { 0 };
	for (size_t i = 0; i < diags.n; i++)
		vf_buf_printf(&b, "%d:%d: %s\n", diags.items[i].pos.line, diags.items[i].pos.col,
			      diags.items[i].message);
	vf_diags_free(&diags);
	vf_desired_free(&d);
	return vf_buf_steal(&b);
}

/* ---- rendering ------------------------------------------------------------ */

static void test_inline_user_data_is_emitted_yaml_with_header(void **state)
{
	vf_desired d = { 0 };
	const vf_object *o = load_ok("  cloudInit:\n"
				     "    userData:\n"
				     "      packages: [nginx, curl]\n"
				     "      ssh_authorized_keys:\n"
				     "        - ssh-ed25519 AAAAC3Nza me@host\n"
				     "      write_files:\n"
				     "        - path: /etc/motd\n"
				     "          content: |\n"
				     "            hello\n"
				     "            world\n"
				     "      runcmd:\n"
				     "        - [sh, -c, 'echo \"it works\" > /tmp/x']\n"
				     "      flag: \"true\"\n"
				     "      real: true\n",
				     &d);
	const vf_cloudinit *ci = &o->u.domain.cloudinit;
	assert_true(ci->present);
	assert_string_equal(ci->user_data,
			    "#cloud-config\n"
			    "packages:\n"
			    "- nginx\n"
			    "- curl\n"
			    "ssh_authorized_keys:\n"
			    "- ssh-ed25519 AAAAC3Nza me@host\n"
			    "write_files:\n"
			    "- path: /etc/motd\n"
			    "  content: |\n"
			    "    hello\n"
			    "    world\n"
			    "runcmd:\n"
			    "- - sh\n"
			    "  - -c\n"
			    "  - 'echo \"it works\" > /tmp/x'\n"
			    "flag: 'true'\n"
			    "real: true\n");
	assert_null(ci->network_config);
	vf_desired_free(&d);
}

static void test_string_parts_are_verbatim(void **state)
{
	vf_desired d = { 0 };
	const vf_object *o = load_ok("  cloudInit:\n"
				     "    userData: |\n"
				     "      #!/bin/sh\n"
				     "      echo hi   # kept as written\n"
				     "    metaData: \"instance-id: fixed-1\\n\"\n"
				     "    networkConfig: |\n"
				     "      version: 2\n"
				     "      ethernets: {eth0: {dhcp4: true}}\n",
				     &d);
	const vf_cloudinit *ci = &o->u.domain.cloudinit;
	assert_string_equal(ci->user_data, "#!/bin/sh\necho hi   # kept as written\n");
	assert_string_equal(ci->meta_data, "instance-id: fixed-1\n");
	assert_string_equal(ci->network_config, "version: 2\nethernets: {eth0: {dhcp4: true}}\n");
	vf_desired_free(&d);
}

static void test_inline_network_config_has_no_header(void **state)
{
	vf_desired d = { 0 };
	const vf_object *o = load_ok("  cloudInit:\n"
				     "    networkConfig:\n"
				     "      version: 2\n"
				     "      ethernets:\n"
				     "        eth0:\n"
				     "          dhcp4: true\n",
				     &d);
	const vf_cloudinit *ci = &o->u.domain.cloudinit;
	assert_string_equal(ci->network_config,
			    "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n");
	assert_string_equal(ci->user_data, ""); /* absent userData: an empty user-data file */
	vf_desired_free(&d);
}

static void test_file_parts_are_relative_to_the_manifest(void **state)
{
	write_file("ci/user-data.yaml", "#cloud-config\nhostname: from-file\n");
	_cleanup_free_ char *abs = tpath("abs-network.yaml");
	write_file("abs-network.yaml", "version: 1\n");
	vf_desired d = { 0 };
	_cleanup_free_ char *extra = vf_asprintf("  cloudInit:\n"
						 "    userData: {file: ci/user-data.yaml}\n"
						 "    networkConfig:\n"
						 "      file: %s\n",
						 abs);
	const vf_object *o = load_ok(extra, &d);
	const vf_cloudinit *ci = &o->u.domain.cloudinit;
	assert_string_equal(ci->user_data, "#cloud-config\nhostname: from-file\n");
	assert_string_equal(ci->network_config, "version: 1\n");
	assert_int_equal(ci->user_data_pos.line, 9); /* the file: value */
	vf_desired_free(&d);
}

static void test_default_meta_data(void **state)
{
	vf_desired d = { 0 };
	const vf_object *o = load_ok("  cloudInit:\n    userData: {}\n", &d);
	char u[UUID_STR_LEN];
	uuid_unparse_lower(o->uuid, u);
	_cleanup_free_ char *want = vf_asprintf("instance-id: %s\nlocal-hostname: web\n", u);
	assert_string_equal(o->u.domain.cloudinit.meta_data, want);
	assert_string_equal(o->u.domain.cloudinit.user_data, "#cloud-config\n{}\n");
	vf_desired_free(&d);

	/* spec.uuid is the instance id when given */
	o = load_ok("  uuid: 0e6f1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b\n  cloudInit: {}\n", &d);
	assert_string_equal(o->u.domain.cloudinit.meta_data,
			    "instance-id: 0e6f1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b\nlocal-hostname: web\n");
	uuid_t uuid;
	uuid_copy(uuid, o->uuid);
	vf_desired_free(&d);

	/* a host name YAML would read as another type is quoted */
	_cleanup_free_ char *meta = vf_cloudinit_default_meta(uuid, "yes");
	assert_non_null(strstr(meta, "local-hostname: 'yes'\n"));
}

static void test_seed_location(void **state)
{
	vf_desired d = { 0 };
	const vf_object *o = load_ok("    - path: /dev/null\n"
				     "    - volume: {pool: other, name: data.qcow2}\n"
				     "  cloudInit: {}\n",
				     &d);
	const vf_cloudinit *ci = &o->u.domain.cloudinit;
	assert_string_equal(ci->seed_pool, "images"); /* the first volume disk's pool */
	assert_string_equal(ci->seed_volume, "web-cidata.iso");
	vf_desired_free(&d);
}

/* ---- decode errors ---------------------------------------------------------- */

static void test_decode_errors_have_positions(void **state)
{
	_cleanup_free_ char *e1 = load_errors("  cloudInit:\n"
					      "    userdata: {}\n"
					      "    metaData: 42\n"
					      "    networkConfig: [a]\n");
	assert_string_equal(e1,
			    "9:5: unknown field \"userdata\" in Domain spec.cloudInit; did you mean \"userData\"?\n"
			    "10:15: spec.cloudInit.metaData must be a mapping, a string or {file: PATH}, not a number\n"
			    "11:20: spec.cloudInit.networkConfig must be a mapping, a string or {file: PATH}, not a list\n");

	_cleanup_free_ char *e2 = load_errors("  cloudInit:\n"
					      "    userData:\n"
					      "      file: missing.yaml\n");
	_cleanup_free_ char *want2 = vf_asprintf(
		"10:13: spec.cloudInit.userData.file: cannot read \"%s/missing.yaml\": No such file or directory\n",
		tmpdir);
	assert_string_equal(e2, want2);

	write_file("u.yaml", "x\n");
	_cleanup_free_ char *e3 = load_errors("  cloudInit:\n"
					      "    userData: {file: u.yaml, mode: 0644}\n"
					      "    metaData: {file: 7}\n");
	assert_string_equal(e3,
			    "9:30: unknown field \"mode\" in Domain spec.cloudInit.userData (a {file: PATH} reference)\n"
			    "10:22: spec.cloudInit.metaData.file must be a string, not a number; quote it (\"7\") to use it as text\n");

	_cleanup_free_ char *e4 = load_errors("  cloudInit: [userData]\n");
	assert_string_equal(e4, "8:14: spec.cloudInit must be a mapping, not a list\n");

	_cleanup_free_ char *e5 = load_errors("  cloudInit:\n    bus: usb\n");
	assert_string_equal(e5, "9:10: invalid spec.cloudInit.bus \"usb\": use scsi (the default), virtio, sata or ide\n");
}

static void test_cloud_init_with_xml_is_an_error(void **state)
{
	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	assert_true(load_text("raw.yaml",
			      "apiVersion: virtform/v1\n"
			      "kind: Domain\n"
			      "metadata: {name: raw}\n"
			      "spec:\n"
			      "  xml: \"<domain type='kvm'><name>raw</name></domain>\"\n"
			      "  cloudInit:\n"
			      "    userData: {}\n",
			      &d, &diags) < 0);
	assert_int_equal(diags.n, 1);
	assert_int_equal(diags.items[0].pos.line, 6);
	assert_int_equal(diags.items[0].pos.col, 3);
	assert_string_equal(diags.items[0].message,
			    "spec.cloudInit cannot be combined with spec.xml; the XML describes the whole domain");
	vf_diags_free(&diags);
	vf_desired_free(&d);
}

/* ---- the hash ----------------------------------------------------------------- */

static void test_hash_follows_content_only(void **state)
{
	char a[65], b[65], c[65];
	vf_cloudinit_hash("#cloud-config\n", "instance-id: x\n", NULL, a);
	vf_cloudinit_hash("#cloud-config\n", "instance-id: x\n", NULL, b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 64);
	vf_cloudinit_hash("#cloud-config\n", "instance-id: x\n", "", c);
	assert_string_not_equal(a, c); /* an empty network-config is not an absent one */
	vf_cloudinit_hash("#cloud-config\ninstance-id: x\n", "", NULL, c);
	assert_string_not_equal(a, c); /* bytes moved between files */
	vf_cloudinit_hash("#cloud-config\n", "instance-id: y\n", NULL, c);
	assert_string_not_equal(a, c);

	/* The manifest's layout (comments, flow or block style) is not content. */
	vf_desired d1 = { 0 }, d2 = { 0 }, d3 = { 0 };
	const vf_object *o1 = load_ok("  cloudInit:\n    userData: {packages: [nginx]}\n", &d1);
	const vf_object *o2 = load_ok("  cloudInit:\n    # a comment\n    userData:\n"
				      "      packages:\n        - nginx\n",
				      &d2);
	const vf_object *o3 = load_ok("  cloudInit:\n    userData: {packages: [nginx, curl]}\n", &d3);
	assert_string_equal(o1->u.domain.cloudinit.hash, o2->u.domain.cloudinit.hash);
	assert_string_not_equal(o1->u.domain.cloudinit.hash, o3->u.domain.cloudinit.hash);
	vf_desired_free(&d1);
	vf_desired_free(&d2);
	vf_desired_free(&d3);
}

/* ---- the ISO ------------------------------------------------------------------- */

/* What an ISO holds, read back with libisofs. */
typedef struct iso_view {
	char *label;
	bool rockridge, joliet;
	char *names[8];
	char *texts[8];
	size_t n;
} iso_view;

static iso_view read_iso(const char *path)
{
	iso_view v = { 0 };
	IsoDataSource *src = NULL;
	IsoReadOpts *ro = NULL;
	IsoImage *img = NULL;
	IsoReadImageFeatures *feat = NULL;
	assert_true(iso_data_source_new_from_file(path, &src) >= 0);
	assert_true(iso_read_opts_new(&ro, 0) >= 0);
	assert_true(iso_image_new("reader", &img) >= 0);
	int rc = iso_image_import(img, src, ro, &feat);
	if (rc < 0)
		fail_msg("libisofs cannot read %s: %s", path, iso_error_to_msg(rc));
	v.label = vf_strdup(iso_image_get_volume_id(img));
	v.rockridge = iso_read_image_features_has_rockridge(feat);
	v.joliet = iso_read_image_features_has_joliet(feat);
	IsoDirIter *it = NULL;
	assert_int_equal(iso_dir_get_children(iso_image_get_root(img), &it), 1);
	IsoNode *node;
	while (iso_dir_iter_next(it, &node) == 1 && v.n < 8) {
		assert_int_equal(iso_node_get_type(node), LIBISO_FILE);
		IsoStream *st = iso_file_get_stream((IsoFile *)node);
		assert_true(iso_stream_open(st) >= 0);
		vf_buf b = { 0 };
		char chunk[4096];
		int n;
		while ((n = iso_stream_read(st, chunk, sizeof(chunk))) > 0)
			vf_buf_addn(&b, chunk, (size_t)n);
		assert_true(n == 0);
		iso_stream_close(st);
		v.names[v.n] = vf_strdup(iso_node_get_name(node));
		v.texts[v.n++] = vf_buf_steal(&b);
	}
	iso_dir_iter_free(it);
	iso_read_image_features_destroy(feat);
	iso_image_unref(img);
	iso_read_opts_free(ro);
	iso_data_source_unref(src);
	return v;
}

static const char *iso_file(const iso_view *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->names[i], name) == 0)
			return v->texts[i];
	return NULL;
}

static void iso_view_free(iso_view *v)
{
	free(v->label);
	for (size_t i = 0; i < v->n; i++) {
		free(v->names[i]);
		free(v->texts[i]);
	}
}

static void test_iso_reads_back_as_cidata(void **state)
{
	_cleanup_free_ char *path = tpath("seed.iso");
	const char *user = "#cloud-config\nruncmd:\n- [sh, -c, 'echo héllo > /tmp/x']\n";
	const char *meta = "instance-id: 1234\nlocal-hostname: web\n";
	const char *net = "version: 2\nethernets:\n  eth0: {dhcp4: true}\n";
	vf_error err = { 0 };
	if (vf_seed_iso_write(path, user, meta, net, &err) < 0)
		fail_msg("vf_seed_iso_write: %s", err.message);
	iso_view v = read_iso(path);
	assert_string_equal(v.label, "cidata");
	assert_true(v.rockridge);
	assert_true(v.joliet);
	assert_int_equal(v.n, 3);
	assert_string_equal(iso_file(&v, "user-data"), user);
	assert_string_equal(iso_file(&v, "meta-data"), meta);
	assert_string_equal(iso_file(&v, "network-config"), net);
	iso_view_free(&v);

	/* no networkConfig: no network-config file; an empty user-data is still there */
	if (vf_seed_iso_write(path, "", meta, NULL, &err) < 0)
		fail_msg("vf_seed_iso_write: %s", err.message);
	v = read_iso(path);
	assert_int_equal(v.n, 2);
	assert_string_equal(iso_file(&v, "user-data"), "");
	assert_string_equal(iso_file(&v, "meta-data"), meta);
	assert_null(iso_file(&v, "network-config"));
	iso_view_free(&v);
}

static void test_iso_write_error_names_the_file(void **state)
{
	vf_error err = { 0 };
	assert_int_equal(vf_seed_iso_write("/nonexistent-dir/seed.iso", "", "", NULL, &err), -VF_E_IO);
	assert_non_null(strstr(err.message, "/nonexistent-dir/seed.iso"));
	vf_error_clear(&err);
}

/* ---- the planner ---------------------------------------------------------------- */

static const vf_step *domain_step(const vf_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->steps[i].kind == VF_KIND_DOMAIN)
			return &p->steps[i];
	return NULL;
}

static size_t op_index(const vf_step *s, vf_op_type t)
{
	for (size_t i = 0; i < s->n_ops; i++)
		if (s->ops[i].type == t)
			return i;
	return SIZE_MAX;
}

/* What the libvirt driver would observe once `o` is applied with seed hash `hash`. */
static void observed_for(const vf_object *o, const char *hash, vf_observed *obs)
{
	const vf_cloudinit *ci = &o->u.domain.cloudinit;
	memset(obs, 0, sizeof(*obs));
	obs->n_volumes = 2;
	obs->volumes = vf_calloc(2, sizeof(*obs->volumes));
	obs->volumes[0] = (vf_obs_volume){ .pool = vf_strdup("images"), .name = vf_strdup("web.qcow2"),
					   .path = vf_strdup("/i/web.qcow2"), .capacity = 1 };
	obs->volumes[1] = (vf_obs_volume){ .pool = vf_strdup(ci->seed_pool), .name = vf_strdup(ci->seed_volume),
					   .path = vf_strdup("/i/web-cidata.iso"), .capacity = 1 };
	obs->n_domains = 1;
	obs->domains = vf_calloc(1, sizeof(*obs->domains));
	vf_obs_domain *d = &obs->domains[0];
	d->name = vf_strdup("web");
	uuid_copy(d->uuid, o->uuid);
	d->vcpus = 1;
	d->memory = d->current_memory = 512ull << 20;
	d->state = VF_RUN_RUNNING;
	d->managed = true;
	d->persistent = true;
	d->serial_console = true;
	d->graphics = VF_GRAPHICS_NONE;
	d->seed_hash = vf_strdup(hash);
	d->n_disks = 2;
	d->disks = vf_calloc(2, sizeof(*d->disks));
	d->disks[0] = (vf_obs_disk){ .type = VF_OBS_DISK_VOLUME, .pool = vf_strdup("images"),
				     .volume = vf_strdup("web.qcow2"), .target = vf_strdup("vda"),
				     .bus = VF_BUS_VIRTIO, .device = VF_DISK_DEVICE_DISK };
	d->disks[1] = (vf_obs_disk){ .type = VF_OBS_DISK_VOLUME, .pool = vf_strdup("images"),
				     .volume = vf_strdup("web-cidata.iso"), .target = vf_strdup("sda"),
				     .bus = VF_BUS_SATA, .device = VF_DISK_DEVICE_CDROM, .readonly = true };
}

static void test_plan_writes_the_seed_before_defining(void **state)
{
	vf_desired d = { 0 };
	const vf_object *o = load_ok("  cloudInit:\n    userData: {packages: [nginx]}\n", &d);
	/* the host has the root volume; nothing else yet */
	vf_observed none = { 0 };
	none.n_volumes = 1;
	none.volumes = vf_calloc(1, sizeof(*none.volumes));
	none.volumes[0] = (vf_obs_volume){ .pool = vf_strdup("images"), .name = vf_strdup("web.qcow2"),
					   .path = vf_strdup("/i/web.qcow2"), .capacity = 1 };
	vf_plan p = { 0 };
	vf_diags conflicts = { 0 };
	assert_int_equal(vf_plan_build(&d, &none, NULL, NULL, &p, &conflicts), 0);
	vf_observed_free(&none);
	const vf_step *s = NN(domain_step(&p));
	assert_int_equal(s->action, VF_ACT_CREATE);
	assert_non_null(strstr(s->reason, "a cloud-init seed"));
	size_t w = op_index(s, VF_OP_SEED_WRITE), def = op_index(s, VF_OP_DOMAIN_DEFINE);
	assert_true(w < def && def != SIZE_MAX);
	assert_string_equal(s->ops[w].pool, "images");
	assert_string_equal(s->ops[w].name, "web-cidata.iso");
	assert_false(s->ops[w].flag); /* nothing to replace */
	vf_plan_free(&p);

	/* applied: nothing to do */
	vf_observed obs;
	observed_for(o, o->u.domain.cloudinit.hash, &obs);
	assert_int_equal(vf_plan_build(&d, &obs, NULL, NULL, &p, &conflicts), 0);
	assert_true(vf_plan_empty(&p));
	vf_plan_free(&p);
	vf_observed_free(&obs);
	vf_desired_free(&d);
}

/* The seed's bus (docs/cloud-init.md): a domain made with the old sata seed
 * keeps it (its plan is empty: no redefine, no restart); a declared bus moves
 * it once; a virtio seed is a disk, not a CD-ROM, and is attached as such. */
static void test_plan_seed_bus(void **state)
{
	vf_desired d = { 0 };
	const vf_object *o = load_ok("  cloudInit:\n    userData: {packages: [nginx]}\n    bus: scsi\n", &d);
	vf_observed obs;
	observed_for(o, o->u.domain.cloudinit.hash, &obs);
	vf_plan p = { 0 };
	vf_diags conflicts = { 0 };
	assert_int_equal(vf_plan_build(&d, &obs, NULL, NULL, &p, &conflicts), 0);
	const vf_step *s = NN(domain_step(&p));
	assert_int_equal(s->n_changes, 1);
	assert_string_equal(s->changes[0].field, "spec.cloudInit.bus");
	assert_string_equal(s->changes[0].old_value, "sata");
	assert_string_equal(s->changes[0].new_value, "scsi");
	assert_int_equal(s->changes[0].effect, VF_EFFECT_NEXT_BOOT);
	vf_plan_free(&p);
	/* once moved: nothing to do */
	obs.domains[0].disks[1].bus = VF_BUS_SCSI;
	assert_int_equal(vf_plan_build(&d, &obs, NULL, NULL, &p, &conflicts), 0);
	assert_true(vf_plan_empty(&p));
	vf_plan_free(&p);
	vf_observed_free(&obs);
	vf_desired_free(&d);

	vf_desired d2 = { 0 };
	o = load_ok("  cloudInit:\n    userData: {packages: [nginx]}\n    bus: virtio\n", &d2);
	observed_for(o, o->u.domain.cloudinit.hash, &obs);
	obs.domains[0].disks[1].bus = VF_BUS_VIRTIO;
	obs.domains[0].disks[1].device = VF_DISK_DEVICE_DISK;
	assert_int_equal(vf_plan_build(&d2, &obs, NULL, NULL, &p, &conflicts), 0);
	assert_true(vf_plan_empty(&p));
	vf_plan_free(&p);
	vf_observed_free(&obs);
	vf_desired_free(&d2);
}

static void test_plan_regenerates_a_changed_seed(void **state)
{
	vf_desired d = { 0 };
	const vf_object *o = load_ok("  cloudInit:\n    userData: {packages: [nginx]}\n", &d);
	vf_observed obs;
	observed_for(o, "00000000feedface", &obs);
	vf_plan p = { 0 };
	vf_diags conflicts = { 0 };
	assert_int_equal(vf_plan_build(&d, &obs, NULL, NULL, &p, &conflicts), 0);
	const vf_step *s = NN(domain_step(&p));
	assert_int_equal(s->action, VF_ACT_UPDATE);
	assert_int_equal(s->n_changes, 1); /* the seed CD-ROM is not a disk drift */
	assert_string_equal(s->changes[0].field, "spec.cloudInit");
	assert_string_equal(s->changes[0].note, "changed (seed regenerated; next-boot)");
	assert_string_equal(s->changes[0].old_value, "sha256:00000000feedface");
	_cleanup_free_ char *want = vf_asprintf("sha256:%s", o->u.domain.cloudinit.hash);
	assert_string_equal(s->changes[0].new_value, want);
	assert_int_equal(s->changes[0].effect, VF_EFFECT_NEXT_BOOT);
	size_t w = op_index(s, VF_OP_SEED_WRITE), def = op_index(s, VF_OP_DOMAIN_DEFINE);
	assert_true(w < def && def != SIZE_MAX);
	assert_true(s->ops[w].flag); /* the old seed is replaced */
	assert_string_equal(s->ops[w].path, "/i/web-cidata.iso");
	assert_int_equal(op_index(s, VF_OP_DOMAIN_SHUTDOWN), SIZE_MAX); /* no reboot forced */

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	vf_plan_print_text(f, &p, false);
	fclose(f);
	assert_non_null(strstr(text, "    spec.cloudInit: changed (seed regenerated; next-boot)\n"));
	free(text);
	vf_plan_free(&p);

	/* the seed volume deleted behind virtform's back: regenerated */
	free(obs.domains[0].seed_hash);
	obs.domains[0].seed_hash = vf_strdup(o->u.domain.cloudinit.hash);
	obs.n_volumes = 1;
	assert_int_equal(vf_plan_build(&d, &obs, NULL, NULL, &p, &conflicts), 0);
	s = NN(domain_step(&p));
	assert_string_equal(s->changes[0].note, "seed volume missing (seed regenerated; next-boot)");
	assert_true(op_index(s, VF_OP_SEED_WRITE) != SIZE_MAX);
	obs.n_volumes = 2;
	vf_plan_free(&p);
	vf_observed_free(&obs);
	vf_desired_free(&d);

	/* cloudInit dropped from the manifest: detached by the redefine, then deleted */
	o = load_ok("", &d);
	vf_observed obs2;
	vf_desired d2 = { 0 };
	const vf_object *o2 = load_ok("  cloudInit: {}\n", &d2);
	observed_for(o2, o2->u.domain.cloudinit.hash, &obs2);
	assert_int_equal(vf_plan_build(&d, &obs2, NULL, NULL, &p, &conflicts), 0);
	s = NN(domain_step(&p));
	assert_int_equal(s->n_changes, 1);
	assert_string_equal(s->changes[0].note, "removed (seed detached and deleted; next-boot)");
	size_t del = op_index(s, VF_OP_SEED_DELETE);
	def = op_index(s, VF_OP_DOMAIN_DEFINE);
	assert_true(def < del && del != SIZE_MAX);
	assert_string_equal(s->ops[del].name, "web-cidata.iso");
	vf_plan_free(&p);
	vf_observed_free(&obs2);
	vf_desired_free(&d2);
	vf_desired_free(&d);
}

static void test_plan_needs_a_volume_disk(void **state)
{
	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	assert_int_equal(load_text("nodisk.yaml",
				   "apiVersion: virtform/v1\n"
				   "kind: Domain\n"
				   "metadata: {name: bare}\n"
				   "spec:\n"
				   "  disks: [{path: /dev/null}]\n"
				   "  cloudInit:\n"
				   "    userData: {}\n",
				   &d, &diags),
			 0);
	vf_plan p = { 0 };
	vf_observed none = { 0 };
	assert_int_equal(vf_plan_build(&d, &none, NULL, NULL, &p, &diags), -VF_E_CONFLICT);
	assert_int_equal(diags.n, 1);
	assert_int_equal(diags.items[0].pos.line, 7);
	assert_int_equal(diags.items[0].pos.col, 5);
	assert_string_equal(diags.items[0].message,
			    "Domain \"bare\": spec.cloudInit needs a volume disk: the seed is stored in the pool of the domain's first volume disk, and spec.disks has none; add one");
	vf_diags_free(&diags);
	vf_desired_free(&d);
}

/* ---- the libvirt driver (test:///default) ------------------------------------------ */

static void test_domain_xml_carries_the_seed_cdrom(void **state)
{
	const vf_backend *be = vf_backend_for_uri("test:///default");
	vf_conn *c = NULL;
	vf_error err = { 0 };
	if (be->hv->open("test:///default", NULL, &c, &err) < 0)
		fail_msg("open: %s", err.message);
	vf_desired d = { 0 };
	/* A declared sata disk takes sda: the seed goes to the next free name. */
	const vf_object *o = load_ok("    - volume: {pool: default-pool, name: data.img}\n"
				     "      bus: sata\n"
				     "  cloudInit:\n    userData: {packages: [nginx]}\n",
				     &d);
	if (be->hv->domain_define(c, o, VF_DOMAIN_QEMU, &err) < 0)
		fail_msg("define: %s", err.message);
	vf_observed obs = { 0 };
	if (be->hv->observe(c, &obs, &err) < 0)
		fail_msg("observe: %s", err.message);
	const vf_obs_domain *dom = NN(vf_observed_domain(&obs, "web"));
	assert_string_equal(dom->seed_hash, o->u.domain.cloudinit.hash);
	assert_int_equal(dom->n_disks, 3);
	const vf_obs_disk *cd = &dom->disks[2];
	assert_int_equal(cd->type, VF_OBS_DISK_VOLUME);
	assert_string_equal(cd->pool, "images");
	assert_string_equal(cd->volume, "web-cidata.iso");
	assert_int_equal(cd->device, VF_DISK_DEVICE_CDROM);
	assert_int_equal(cd->bus, VF_BUS_SCSI); /* the default: a CD-ROM on virtio-scsi */
	assert_true(cd->readonly);
	assert_string_equal(cd->target, "sdb");
	assert_string_equal(dom->disks[1].target, "sda");
	vf_observed_free(&obs);

	/* test:///default cannot hold volume content (no virStorageVolUpload):
	 * writing the seed there fails with libvirt's reason, leaving nothing. */
	vf_object vol = { .kind = VF_KIND_VOLUME, .name = (char[]){ "web-cidata.iso" },
			  .u.volume = { .pool = (char[]){ "default-pool" }, .capacity = 1,
					.format = VF_VOL_RAW, .perms = { -1, -1, -1, { 0 } } } };
	_cleanup_free_ char *iso = tpath("upload.iso");
	assert_int_equal(vf_seed_iso_write(iso, "", "", NULL, &err), 0);
	assert_non_null(be->storage->volume_upload);
	assert_true(be->storage->volume_upload(c, &vol, iso, &err) < 0);
	assert_non_null(strstr(err.message, "virStorageVolUpload"));
	vf_error_clear(&err);
	if (be->hv->observe(c, &obs, &err) < 0)
		fail_msg("observe: %s", err.message);
	assert_null(vf_observed_volume(&obs, "default-pool", "web-cidata.iso"));
	vf_observed_free(&obs);
	be->hv->close(c);
	vf_desired_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_user_data_is_emitted_yaml_with_header),
		cmocka_unit_test(test_string_parts_are_verbatim),
		cmocka_unit_test(test_inline_network_config_has_no_header),
		cmocka_unit_test(test_file_parts_are_relative_to_the_manifest),
		cmocka_unit_test(test_default_meta_data),
		cmocka_unit_test(test_seed_location),
		cmocka_unit_test(test_decode_errors_have_positions),
		cmocka_unit_test(test_cloud_init_with_xml_is_an_error),
		cmocka_unit_test(test_hash_follows_content_only),
		cmocka_unit_test(test_iso_reads_back_as_cidata),
		cmocka_unit_test(test_plan_seed_bus),
		cmocka_unit_test(test_iso_write_error_names_the_file),
		cmocka_unit_test(test_plan_writes_the_seed_before_defining),
		cmocka_unit_test(test_plan_regenerates_a_changed_seed),
		cmocka_unit_test(test_plan_needs_a_volume_disk),
		cmocka_unit_test(test_domain_xml_carries_the_seed_cdrom),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
