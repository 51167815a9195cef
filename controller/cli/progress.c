/* progress.c: the CLI's view of an image download: on a terminal, a bar
 * redrawn in place ("[#####-----]  45%  120.0MiB/270.0MiB  12.1MiB/s"),
 * elsewhere (logs, CI) one line every 5 s and one at the end. Not for
 * downloading (drivers/fetch/) or deciding anything. */
#include "controller/cli/progress.h"

#include <string.h>
#include <time.h>

#include "controller/core/util.h"

#define VF_PROGRESS_LOG_EVERY_S 5.0
#define VF_PROGRESS_BAR 30

static double vf_progress__now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The plan's style (vf_format_size): "120MiB", "189.7MiB". */
static void vf_progress__size(char *buf, size_t n, double bytes)
{
	_cleanup_free_ char *s = vf_format_size(bytes > 0 ? (uint64_t)bytes : 0);
	snprintf(buf, n, "%s", s);
}

static const char *vf_progress__base(const char *url)
{
	size_t n = strcspn(url, "?#");
	const char *s = url + n;
	while (s > url && s[-1] != '/')
		s--;
	return s;
}

void vf_progress_print(const char *url, uint64_t bytes, uint64_t total, double rate, bool done,
		       void *userdata)
{
	vf_progress_printer *p = userdata;
	FILE *out = p->out ? p->out : stderr;
	char got[32], all[32], speed[32];
	vf_progress__size(got, sizeof(got), (double)bytes);
	vf_progress__size(all, sizeof(all), (double)total);
	vf_progress__size(speed, sizeof(speed), rate);
	int pct = total ? (int)(bytes * 100 / total) : -1;

	if (p->tty) {
		char bar[VF_PROGRESS_BAR + 1];
		int fill = pct < 0 ? 0 : pct * VF_PROGRESS_BAR / 100;
		for (int i = 0; i < VF_PROGRESS_BAR; i++)
			bar[i] = i < fill ? '#' : '-';
		bar[VF_PROGRESS_BAR] = '\0';
		if (pct >= 0)
			fprintf(out, "\r\033[K  %s [%s] %3d%%  %s/%s  %s/s", vf_progress__base(url), bar,
				pct, got, all, speed);
		else
			fprintf(out, "\r\033[K  %s  %s  %s/s", vf_progress__base(url), got, speed);
		p->drawn = !done;
		if (done)
			fputc('\n', out);
		fflush(out);
		return;
	}
	double now = vf_progress__now();
	if (!done && p->last && now - p->last < VF_PROGRESS_LOG_EVERY_S)
		return;
	if (!done && !p->last) {
		p->last = now; /* the first line comes after 5 s, not at once */
		return;
	}
	p->last = now;
	if (done)
		fprintf(out, "downloaded %s: %s\n", url, got);
	else if (pct >= 0)
		fprintf(out, "downloading %s: %s of %s (%d%%), %s/s\n", url, got, all, pct, speed);
	else
		fprintf(out, "downloading %s: %s, %s/s\n", url, got, speed);
	fflush(out);
}
