/* bench.h: helpers shared by the benchmark programs in tests/bench/: the
 * manifest generator (N domains, N volumes in 10 dir pools), a monotonic
 * clock, and median/min/max of repeated samples. Header-only so each
 * each tests/bench program stays one file (the Makefile builds one per .c).
 * Not for timing policy: each program decides what it times. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define VFB_POOLS 10
#define VFB_MAX_REPS 64

static inline double vfb_now(void)
{
	struct timespec ts;
	clock_gettime(getenv("VFB_CPU") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void vfb_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void vfb_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* snprintf that dies instead of truncating. */
#define VFB_FMT(buf, ...)                                                    \
	do {                                                                 \
		int vfb__n = snprintf((buf), sizeof(buf), __VA_ARGS__);      \
		if (vfb__n < 0 || (size_t)vfb__n >= sizeof(buf))             \
			vfb_die("path too long");                            \
	} while (0)

static inline FILE *vfb_fopen(const char *dir, const char *name)
{
	char path[4096];
	VFB_FMT(path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		vfb_die("cannot write %s: %s", path, strerror(errno));
	return f;
}

/* Write the benchmark's manifests into `dir` (created): pools.yaml with
 * VFB_POOLS dir pools under images_dir, and vms/<prefix>dNNNNN.yaml per
 * domain holding its 1 MiB raw volume (pool i % VFB_POOLS) and the domain
 * (1 vCPU, 64 MiB, shut off, no graphics, that volume as its disk). With
 * `adopt`, every object says adopt: true (plans over a host someone else
 * populated). */
static inline void vfb_gen(const char *dir, const char *prefix, int n, const char *images_dir,
			   bool adopt)
{
	char vms[4096];
	VFB_FMT(vms, "%s/vms", dir);
	if ((mkdir(dir, 0755) < 0 && errno != EEXIST) || (mkdir(vms, 0755) < 0 && errno != EEXIST))
		vfb_die("cannot create %s: %s", vms, strerror(errno));
	FILE *f = vfb_fopen(dir, "pools.yaml");
	for (int k = 0; k < VFB_POOLS; k++)
		fprintf(f,
			"---\napiVersion: virtform/v1\nkind: StoragePool\nmetadata:\n  name: %sp%d\n"
			"spec:\n  type: dir\n  target:\n    path: %s/%sp%d\n%s",
			prefix, k, images_dir, prefix, k, adopt ? "  adopt: true\n" : "");
	fclose(f);
	for (int i = 0; i < n; i++) {
		char name[256];
		VFB_FMT(name, "%sd%05d.yaml", prefix, i);
		f = vfb_fopen(vms, name);
		int k = i % VFB_POOLS;
		fprintf(f,
			"apiVersion: virtform/v1\nkind: Volume\nmetadata:\n  name: %sd%05d.img\n"
			"spec:\n  pool: %sp%d\n  capacity: 1MiB\n  format: raw\n%s"
			"---\napiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: %sd%05d\n"
			"spec:\n  vcpus: 1\n  memory: 64MiB\n  disks:\n"
			"    - volume: {pool: %sp%d, name: %sd%05d.img}\n"
			"  graphics: {type: none}\n  state: shutoff\n%s",
			prefix, i, prefix, k, adopt ? "  adopt: true\n" : "", prefix, i, prefix, k, prefix,
			i, adopt ? "  adopt: true\n" : "");
		fclose(f);
	}
}

/* Repeated samples of one figure. */
typedef struct vfb_series {
	double v[VFB_MAX_REPS];
	int n;
} vfb_series;

static inline void vfb_add(vfb_series *s, double x)
{
	if (s->n < VFB_MAX_REPS)
		s->v[s->n++] = x;
}

static inline int vfb__cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median (mean of the middle two for an even count), min, max. */
static inline void vfb_stats(const vfb_series *s, double *med, double *mn, double *mx)
{
	double v[VFB_MAX_REPS];
	memcpy(v, s->v, sizeof(double) * (size_t)s->n);
	qsort(v, (size_t)s->n, sizeof(double), vfb__cmp);
	if (s->n == 0) {
		*med = *mn = *mx = 0;
		return;
	}
	*mn = v[0];
	*mx = v[s->n - 1];
	*med = s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

static inline double vfb_median(const vfb_series *s)
{
	double m, a, b;
	vfb_stats(s, &m, &a, &b);
	return m;
}
