/* vfbench.c: the real-libvirtd benchmark: the virtform CLI against the
 * floor program (floor.c), both timed from outside as whole processes
 * (exec, connect, work, exit), interleaved in every repetition so both see
 * the same host. Prints one markdown table row per figure: median, min and
 * max wall time, the matching floor's median, the ratio, time per object
 * and the child's own peak RSS (wait4 ru_maxrss).
 *
 *   vfbench -c URI -b VIRTFORM -f FLOOR -n N -r REPS -p PREFIX -w WORKDIR [-P]
 *
 * -P (plan only): cold plan, then the host is populated once by virtform
 * apply, then no-op plans only. Everything named PREFIX* is removed before,
 * after, and between repetitions. Not for the test driver: inproc.c. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <getopt.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static const char *uri = "qemu:///system", *vf_bin, *floor_bin, *prefix, *work;
static int n_dom = 100, reps = 5;
static bool plan_only;
static const char *v_nplan_name = "virtform plan, no-op";
static char manifests[4096], payload[4096], errlog[4096];

typedef struct figure {
	const char *name;
	vfb_series wall;
	vfb_series rss;           /* MiB */
	int failures;
} figure;

/* Run argv with stdout to /dev/null and stderr to errlog; *wall in seconds,
 * *rss_mib the child's peak RSS. Returns the exit status (or 128+signal). */
static int run(const char *const argv[], double *wall, double *rss_mib)
{
	double t0 = vfb_now();
	pid_t pid = fork();
	if (pid < 0)
		vfb_die("fork: %s", strerror(errno));
	if (pid == 0) {
		int out = open("/dev/null", O_WRONLY);
		int err = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0 || err < 0)
			_exit(126);
		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], (char *const *)(uintptr_t)argv); /* execv never writes argv */
		_exit(127);
	}
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0)
		vfb_die("wait4: %s", strerror(errno));
	*wall = vfb_now() - t0;
	*rss_mib = (double)ru.ru_maxrss / 1024.0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void show_errlog(const char *what, int rc)
{
	fprintf(stderr, "vfbench: %s exited %d; its stderr:\n", what, rc);
	FILE *f = fopen(errlog, "r");
	char line[1024];
	for (int i = 0; f && i < 10 && fgets(line, sizeof(line), f); i++)
		fprintf(stderr, "    %s", line);
	if (f)
		fclose(f);
}

static void floor_run(const char *mode, figure *fig)
{
	const char *argv[] = { floor_bin, mode, uri,
			 (strcmp(mode, "clean") == 0 ? prefix : payload), NULL };
	if (strcmp(mode, "observe") == 0)
		argv[3] = NULL;
	double w, rss;
	int rc = run(argv, &w, &rss);
	if (rc != 0) {
		show_errlog(mode, rc);
		if (fig)
			fig->failures++;
		else
			vfb_die("floor %s failed", mode);
		return;
	}
	if (fig) {
		vfb_add(&fig->wall, w);
		vfb_add(&fig->rss, rss);
	}
}

static void vf_run(const char *cmd, const char *state_dir, int want_rc, figure *fig)
{
	const char *argv[] = { vf_bin, cmd, "-c", uri,
			 "--state-dir", state_dir, manifests, NULL };
	double w, rss;
	int rc = run(argv, &w, &rss);
	if (rc != want_rc) {
		show_errlog(fig ? fig->name : cmd, rc);
		if (fig)
			fig->failures++;
		return;
	}
	if (fig) {
		vfb_add(&fig->wall, w);
		vfb_add(&fig->rss, rss);
	}
}

static void new_state_dir(char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/state-XXXXXX", work) >= (int)len)
		vfb_die("path too long");
	if (!mkdtemp(buf))
		vfb_die("mkdtemp: %s", strerror(errno));
}

static void row(const figure *v, const figure *fl)
{
	int objs = 2 * n_dom + VFB_POOLS;
	if (v->wall.n == 0) {
		printf("| %s | %d | %s | FAILED (%d of %d runs) | | | | | | |\n", uri, n_dom, v->name,
		       v->failures, v->failures);
		return;
	}
	double med, mn, mx, rmed, rmn, rmx;
	vfb_stats(&v->wall, &med, &mn, &mx);
	vfb_stats(&v->rss, &rmed, &rmn, &rmx);
	char flo[64] = "", ratio[64] = "";
	if (fl && fl->wall.n) {
		double f = vfb_median(&fl->wall);
		snprintf(flo, sizeof(flo), "%.1f ms", f * 1e3);
		snprintf(ratio, sizeof(ratio), "%.2fx", med / f);
	}
	printf("| %s | %d | %s | %.1f ms | %.1f ms | %.1f ms | %s | %s | %.1f µs | %.1f MiB |%s\n", uri,
	       n_dom, v->name, med * 1e3, mn * 1e3, mx * 1e3, flo, ratio, med / objs * 1e6, rmx,
	       v->failures ? " (some runs failed)" : "");
	fflush(stdout);
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
	interrupted = sig;
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "c:b:f:n:r:p:w:P")) != -1) {
		switch (opt) {
		case 'c': uri = optarg; break;
		case 'b': vf_bin = optarg; break;
		case 'f': floor_bin = optarg; break;
		case 'n': n_dom = atoi(optarg); break;
		case 'r': reps = atoi(optarg); break;
		case 'p': prefix = optarg; break;
		case 'w': work = optarg; break;
		case 'P': plan_only = true; break;
		default: vfb_die("usage: vfbench -c URI -b VIRTFORM -f FLOOR -n N -r REPS -p PREFIX -w WORKDIR [-P]");
		}
	}
	if (!vf_bin || !floor_bin || !prefix || !work || n_dom < 1 || reps < 1 || reps > VFB_MAX_REPS ||
	    strncmp(prefix, "vfbench-", 8) != 0)
		vfb_die("usage: vfbench -c URI -b VIRTFORM -f FLOOR -n N -r REPS -p vfbench-... -w WORKDIR [-P]");
	/* The runner's trap cleans up after a kill; here, finish the step and clean. */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	VFB_FMT(manifests, "%s/manifests-%d", work, n_dom);
	VFB_FMT(payload, "%s/payload-%d", work, n_dom);
	VFB_FMT(errlog, "%s/stderr.log", work);
	vfb_gen(manifests, prefix, n_dom, "/var/lib/libvirt/images", plan_only);
	{
		const char *a[] = { floor_bin, "prep", uri, manifests, payload, NULL };
		double w, rss;
		if (run(a, &w, &rss) != 0) {
			show_errlog("floor prep", 1);
			return 1;
		}
	}

	figure f_cold = { .name = "floor: observe, empty host" }, f_apply = { .name = "floor: converge from empty" },
	       f_noop = { .name = "floor: observe, converged host" };
	if (plan_only)
		v_nplan_name = "virtform plan, adopting a populated host";
	figure v_cold = { .name = "virtform plan, cold" }, v_apply = { .name = "virtform apply, from empty" },
	       v_nplan = { .name = v_nplan_name }, v_napply = { .name = "virtform apply, no-op" };
	char state[4096];

	floor_run("clean", NULL);
	if (plan_only) {
		new_state_dir(state, sizeof(state));
		for (int i = 0; i < reps && !interrupted; i++) {
			floor_run("observe", &f_cold);
			vf_run("plan", state, 2, &v_cold);
		}
		/* Populated by the floor (virtform's apply at this N would take too
		 * long); the manifests say adopt: true, so the plan adopts all. */
		floor_run("apply", &f_apply);
		for (int i = 0; i < reps && !interrupted; i++) {
			floor_run("observe", &f_noop);
			vf_run("plan", state, 2, &v_nplan);
		}
	} else {
		for (int i = 0; i < reps && !interrupted; i++) {
			floor_run("observe", &f_cold);
			new_state_dir(state, sizeof(state));
			vf_run("plan", state, 2, &v_cold);
			floor_run("apply", &f_apply);
			floor_run("observe", &f_noop);
			floor_run("clean", NULL);
			vf_run("apply", state, 0, &v_apply);
			vf_run("plan", state, 0, &v_nplan);
			vf_run("apply", state, 0, &v_napply);
			floor_run("clean", NULL);
			fprintf(stderr, "vfbench: %s N=%d: repetition %d of %d done\n", uri, n_dom, i + 1, reps);
		}
	}
	floor_run("clean", NULL);

	row(&f_cold, NULL);
	row(&v_cold, &f_cold);
	if (f_apply.wall.n)
		row(&f_apply, NULL);
	if (!plan_only)
		row(&v_apply, &f_apply);
	row(&f_noop, NULL);
	row(&v_nplan, &f_noop);
	if (!plan_only)
		row(&v_napply, &f_noop);
	return interrupted ? 1 : 0;
}
