/* fuzz_manifest.c: libFuzzer target over the manifest loader and validator.
 * Each input is written to one file (the loader reads files, not memory:
 * controller/load/manifest.h has no memory entry point), loaded with
 * vf_manifest_load (YAML parsing, schema, units, UUIDs, duplicates), and,
 * when it loads, planned against an empty host (the plan's desired-side
 * conflict checks). Given files as arguments, libFuzzer replays them: that
 * is how `make fuzz` runs tests/fuzz/regressions/. Not a test of output. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/load/manifest.h"
#include "controller/plan/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[256];

static void setup(void)
{
	char dir[] = "/tmp/vffuzz-XXXXXX";
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/input.yaml", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!path[0])
		setup();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	close(fd);

	const char *paths[] = { path };
	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	if (vf_manifest_load(paths, 1, &d, &diags) == 0) {
		vf_observed o = { 0 };
		vf_ledger l = { 0 };
		vf_plan_opts opts = { 0 };
		vf_plan plan = { 0 };
		vf_diags conflicts = { 0 };
		if (vf_plan_build(&d, &o, &l, &opts, &plan, &conflicts) == 0)
			vf_plan_free(&plan);
		vf_diags_free(&conflicts);
	}
	vf_diags_free(&diags);
	vf_desired_free(&d);
	return 0;
}
