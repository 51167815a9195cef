/* fence_main.c: main() of build/virtform-fence, the fence helper
 * (drivers/fence/helper.h): parse a few flags, lock the process in memory,
 * leave virtform's session and signals behind, run the loop on stdin and
 * stdout. Its own binary so it needs no libvirt, no etcd and no virtform
 * process to kill QEMU at the deadline (docs/fleet.md). */
#include "drivers/fence/helper.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char vf_fence_usage[] =
	"usage: virtform-fence [--watchdog PATH] [--watchdog-ms MS] [--margin-ms MS]\n"
	"                      [--grace-ms MS] [--no-mlock]\n"
	"Kills the processes it is told to guard (on stdin) at the deadline it is\n"
	"fed, unless fed a later one first; see docs/fleet.md.\n";

static unsigned vf_fence__ms(const char *flag, const char *v)
{
	char *end = NULL;
	unsigned long n = v ? strtoul(v, &end, 10) : 0;
	if (!v || *end || n == 0 || n > 3600000ul) {
		fprintf(stderr, "virtform-fence: %s needs a time in ms (1 to 3600000)\n", flag);
		exit(VF_FENCE_EXIT_USAGE);
	}
	return (unsigned)n;
}

int main(int argc, char **argv)
{
	vf_fence_opts o = { 0 };
	bool lock = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--watchdog") == 0 && v) {
			o.watchdog = v;
			i++;
		} else if (strcmp(a, "--watchdog-ms") == 0) {
			o.watchdog_ms = vf_fence__ms(a, v);
			i++;
		} else if (strcmp(a, "--margin-ms") == 0) {
			o.margin_ms = vf_fence__ms(a, v);
			i++;
		} else if (strcmp(a, "--grace-ms") == 0) {
			o.grace_ms = vf_fence__ms(a, v);
			i++;
		} else if (strcmp(a, "--no-mlock") == 0) {
			lock = false;
		} else if (strcmp(a, "--help") == 0) {
			fputs(vf_fence_usage, stdout);
			return 0;
		} else {
			fprintf(stderr, "virtform-fence: unknown argument \"%s\"\n%s", a, vf_fence_usage);
			return VF_FENCE_EXIT_USAGE;
		}
	}
	/* Its own session: a ^C or a hangup meant for virtform is not ours. */
	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Every page now and later, so no page-in can delay the kill under
	 * memory pressure. (AddressSanitizer builds turn mlockall into a
	 * no-op: tests/test_fence.c checks VmLck on the plain build only.) */
	int how = MCL_CURRENT | MCL_FUTURE;
	if (lock && mlockall(how) < 0) {
		perror("virtform-fence: mlockall (run as root, or raise RLIMIT_MEMLOCK)");
		return VF_FENCE_EXIT_USAGE;
	}
	/* Best effort: ahead of ordinary processes when the host is busy. */
	struct sched_param sp = { .sched_priority = 1 };
	(void)sched_setscheduler(0, SCHED_RR, &sp);
	return vf_fence_run(&o, 0, 1);
}
