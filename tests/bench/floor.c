/* floor.c: the floor program for the real-libvirtd benchmark: only the
 * libvirt calls virtform cannot avoid (floor.h), run as its own process so
 * it pays the same exec and connect costs as the virtform CLI it is
 * compared with. Also prepares payloads and removes what the benchmark made.
 *
 *   floor prep    URI MANIFEST_DIR PAYLOAD   build XML payloads (untimed step)
 *   floor observe URI                        listings + inactive XML of all
 *   floor apply   URI PAYLOAD                observe, then create everything
 *   floor clean   URI PREFIX                 remove every object named PREFIX*
 *
 * Not for timing: tests/bench/vfbench times the processes from outside. */
#include <dirent.h>
#include <unistd.h>

#include "floor.h"

/* Payload file: per item "KIND POOL NAME LEN\n" then LEN bytes of XML. */
static void payload_write(const char *path, const vfb_payload *p)
{
	FILE *f = fopen(path, "w");
	if (!f)
		vfb_die("cannot write %s: %s", path, strerror(errno));
	for (size_t i = 0; i < p->n; i++) {
		const vfb_item *it = &p->items[i];
		fprintf(f, "%d %s %s %zu\n", (int)it->kind, it->pool ? it->pool : "-", it->name,
			strlen(it->xml));
		fputs(it->xml, f);
	}
	if (fclose(f) != 0)
		vfb_die("cannot write %s", path);
}

static void payload_read(const char *path, vfb_payload *p)
{
	FILE *f = fopen(path, "r");
	if (!f)
		vfb_die("cannot read %s: %s", path, strerror(errno));
	int kind;
	char pool[512], name[512];
	size_t len;
	while (fscanf(f, "%d %511s %511s %zu", &kind, pool, name, &len) == 4) {
		if (fgetc(f) != '\n')
			vfb_die("%s: bad payload", path);
		char *xml = vf_calloc(len + 1, 1);
		if (fread(xml, 1, len, f) != len)
			vfb_die("%s: short payload", path);
		vfb__push(p, (vf_kind)kind, name, strcmp(pool, "-") ? pool : NULL, xml);
	}
	fclose(f);
}

static bool has_prefix(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Remove every domain and pool (with its volumes and target directory)
 * whose name starts with prefix. Nothing else is touched. */
static int clean(virConnectPtr c, const char *prefix)
{
	int failed = 0;
	virDomainPtr *doms = NULL;
	int nd = virConnectListAllDomains(c, &doms, 0);
	for (int i = 0; i < nd; i++) {
		if (has_prefix(virDomainGetName(doms[i]), prefix)) {
			if (virDomainIsActive(doms[i]) == 1)
				virDomainDestroy(doms[i]);
			if (virDomainIsPersistent(doms[i]) == 1 &&
			    virDomainUndefineFlags(doms[i], VIR_DOMAIN_UNDEFINE_NVRAM) < 0)
				failed++;
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	virStoragePoolPtr *pools = NULL;
	int np = virConnectListAllStoragePools(c, &pools, 0);
	for (int i = 0; i < np; i++) {
		virStoragePoolPtr p = pools[i];
		if (has_prefix(virStoragePoolGetName(p), prefix)) {
			if (virStoragePoolIsActive(p) != 1)
				virStoragePoolCreate(p, 0); /* to delete its volumes; may fail if the dir is gone */
			if (virStoragePoolIsActive(p) == 1) {
				virStorageVolPtr *vols = NULL;
				virStoragePoolRefresh(p, 0);
				int nv = virStoragePoolListAllVolumes(p, &vols, 0);
				for (int j = 0; j < nv; j++) {
					if (virStorageVolDelete(vols[j], 0) < 0)
						failed++;
					virStorageVolFree(vols[j]);
				}
				free(vols);
				virStoragePoolDestroy(p);
				virStoragePoolDelete(p, 0); /* the (now empty) target directory */
			}
			if (virStoragePoolIsPersistent(p) == 1 && virStoragePoolUndefine(p) < 0)
				failed++;
		}
		virStoragePoolFree(p);
	}
	free(pools);
	return failed;
}

static bool caps_kvm(virConnectPtr c)
{
	char *caps = virConnectGetCapabilities(c);
	bool kvm = caps && vf_lv__caps_have_kvm(caps);
	free(caps);
	return kvm;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		vfb_die("usage: floor prep|observe|apply|clean URI ...");
	const char *mode = argv[1], *uri = argv[2];
	vfb_payload p = { 0 };
	if (strcmp(mode, "apply") == 0) {
		if (argc != 4)
			vfb_die("usage: floor apply URI PAYLOAD");
		payload_read(argv[3], &p);
	}
	virSetErrorFunc(NULL, vfb_quiet); /* errors are read through virGetLastError */
	virConnectPtr c = virConnectOpen(uri);
	if (!c)
		vfb__lv_die("connect to", uri);
	bool is_test = strncmp(uri, "test:", 5) == 0;
	int rc = 0;
	if (strcmp(mode, "prep") == 0) {
		if (argc != 5)
			vfb_die("usage: floor prep URI MANIFEST_DIR PAYLOAD");
		vfb_payload_build(argv[3], is_test ? "test" : caps_kvm(c) ? "kvm" : "qemu", &p);
		payload_write(argv[4], &p);
	} else if (strcmp(mode, "observe") == 0) {
		printf("%zu\n", vfb_floor_observe(c));
	} else if (strcmp(mode, "apply") == 0) {
		vfb_floor_apply(c, &p);
	} else if (strcmp(mode, "clean") == 0) {
		if (argc != 4 || strlen(argv[3]) < 4)
			vfb_die("usage: floor clean URI PREFIX (a prefix of 4+ characters)");
		rc = clean(c, argv[3]) ? 1 : 0;
	} else {
		vfb_die("unknown mode %s", mode);
	}
	vfb_payload_free(&p);
	virConnectClose(c);
	return rc;
}
