/* args.c: virtform's command line: the usage texts and the options of
 * validate, plan and apply, parsed into a vf_cli. Not for running the
 * commands (main.c) or for watch and status (controller/watch/watch.c). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "controller/cli/args.h"

const char vf_usage_main[] =
	"Usage: virtform COMMAND [OPTIONS] PATH...\n"
	"\n"
	"Keep a libvirt host in the state a directory of YAML manifests declares.\n"
	"\n"
	"Commands:\n"
	"  validate PATH...   check manifests strictly; change nothing\n"
	"  plan PATH...       show what apply would change; change nothing\n"
	"                     (exit 0: no changes, 2: changes pending, 1: error)\n"
	"  apply PATH...      converge the host, then re-plan to prove it\n"
	"  watch DIR          keep converging: react to manifest changes and\n"
	"                     libvirt events (docs/watch.md)\n"
	"  status             ask the running watch daemon how things stand\n"
	"  snapshot           write what a plan reads from the host to a file,\n"
	"                     for plan --snapshot (docs/ci.md)\n"
	"  version            print the version\n"
	"\n"
	"Run 'virtform COMMAND --help' for a command's options.\n"
	"Manifest format: man virtform.yaml (docs/virtform.yaml.5).\n";

const char vf_usage_validate[] =
	"Usage: virtform validate [--json] [--allow-empty] PATH...\n"
	"\n"
	"Load every *.yaml/*.yml under each PATH (a directory, recursively, or a\n"
	"file) strictly and report every problem as FILE:LINE:COL. Touches no host.\n"
	"\n"
	"  --json          print the result as JSON\n"
	"  --allow-empty   accept PATHs that hold no manifest at all\n"
	"  --color WHEN    auto (default), always or never\n"
	"  -h, --help      show this help\n"
	"\n"
	"Exit status: 0 valid, 1 invalid (or no manifest found), 2 usage error.\n";

const char vf_usage_plan[] =
	"Usage: virtform plan [OPTIONS] PATH...\n"
	"\n"
	"Compare the manifests under PATH with the live host and print the steps\n"
	"apply would take. Changes nothing.\n"
	"\n"
	"  -c, --connect URI     libvirt URI (default: libvirt's default,\n"
	"                        LIBVIRT_DEFAULT_URI honoured; test:///default works)\n"
	"      --state-dir DIR   where the ownership ledger lives (" VF_DEFAULT_STATE_DIR ";\n"
	"                        not root: $XDG_STATE_HOME/virtform, ~/.local/state/virtform)\n"
	"      --replace KIND/NAME  allow replacing this object; repeatable (StoragePool/NAME,\n"
	"                        Network/NAME, Volume/POOL/NAME, Domain/NAME)\n"
	"      --allow-empty     plan the removals an empty manifest set makes\n"
	"                        (otherwise they are blocked and plan exits 1)\n"
	"      --connect-timeout SECONDS  give up when libvirtd has not answered\n"
	"                        the connection within this long (default 15; 0: wait)\n"
	"      --snapshot FILE   plan against a snapshot (virtform snapshot) instead of\n"
	"                        the host: no connection, no lock, no network\n"
	"      --out FILE        also save the plan to FILE for apply --plan\n"
	"                        (specs/saved-plan.schema.json)\n"
	"      --json            print the plan as JSON (specs/plan.schema.json)\n"
	"      --color WHEN      auto (default), always or never\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: 0 no changes, 2 changes pending, 1 error, plan rejected or usage error.\n";

const char vf_usage_apply[] =
	"Usage: virtform apply [OPTIONS] PATH...\n"
	"\n"
	"Plan, print the plan, carry it out in dependency order, then observe the\n"
	"host again and re-plan: succeed only when nothing is left to do.\n"
	"\n"
	"  -c, --connect URI     libvirt URI (default: libvirt's default)\n"
	"      --state-dir DIR   where the ownership ledger and lock live (" VF_DEFAULT_STATE_DIR ";\n"
	"                        not root: $XDG_STATE_HOME/virtform, ~/.local/state/virtform)\n"
	"      --replace KIND/NAME  allow destroying and recreating this object;\n"
	"                        repeatable (StoragePool/NAME, Network/NAME,\n"
	"                        Volume/POOL/NAME, Domain/NAME)\n"
	"      --allow-empty     let an empty manifest set remove what virtform owns\n"
	"                        (otherwise apply removes nothing and exits 1)\n"
	"      --lock-timeout SECONDS  wait this long for another apply or watch\n"
	"                        on the same state directory (default 0: fail at once)\n"
	"      --lock-wait SECONDS  wait this long for libvirt's metadata lock on a\n"
	"                        file before changing it (default 60)\n"
	"      --connect-timeout SECONDS  give up when libvirtd has not answered\n"
	"                        the connection within this long (default 15; 0: wait)\n"
	"      --plan FILE       apply exactly the steps saved by plan --out, and only\n"
	"                        while everything they touch is as it was planned\n"
	"      --json            print the plan and the result as JSON\n"
	"      --color WHEN      auto (default), always or never\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: 0 converged, 1 error, rejected, blocked, stale plan or not converged,\n"
	"2 usage error.\n";

const char vf_usage_snapshot[] =
	"Usage: virtform snapshot [-c URI] [--state-dir DIR] [--out FILE]\n"
	"\n"
	"Observe the host and write everything a plan reads from it (pools, volumes,\n"
	"networks, domains, leases, host interfaces, the ledger, the host's identity\n"
	"and domain types, the image cache) as one JSON document\n"
	"(specs/snapshot.schema.json), for plan --snapshot. Changes nothing.\n"
	"\n"
	"  -c, --connect URI     libvirt URI (default: libvirt's default)\n"
	"      --state-dir DIR   where the ownership ledger lives (" VF_DEFAULT_STATE_DIR ")\n"
	"      --out FILE        write it to FILE (atomically) instead of stdout\n"
	"      --connect-timeout SECONDS  give up when libvirtd has not answered\n"
	"                        the connection within this long (default 15; 0: wait)\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: 0 written, 1 error, 2 usage error.\n";

const char vf_usage_version[] =
	"Usage: virtform version\n"
	"\n"
	"Print virtform's version (as virtform --version does).\n"
	"\n"
	"  -h, --help            show this help\n";

int vf_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("virtform: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\nTry 'virtform %s --help'.\n", cmd);
	else
		fputs("\nTry 'virtform --help'.\n", stderr);
	/* plan's 2 means "changes pending": a script acting on it must never
	 * apply because of a mistyped flag */
	if (cmd && strcmp(cmd, "plan") == 0)
		return VF_EXIT_FAIL;
	return VF_EXIT_USAGE;
}

bool vf_color_auto(void)
{
	const char *term = getenv("TERM");
	return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0;
}

static int vf_parse_seconds(const char *s, unsigned *out_ms)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 86400.0)
		return -1;
	*out_ms = (unsigned)(v * 1000.0);
	return 0;
}

/* KIND/NAME for pools and domains, Volume/POOL/NAME for volumes. */
static bool vf_replace_arg_ok(const char *arg)
{
	const char *slash = strchr(arg, '/');
	if (!slash)
		return false;
	_cleanup_free_ char *kind = vf_strndup(arg, (size_t)(slash - arg));
	int k = vf_kind_from_string(kind);
	const char *rest = slash + 1;
	if (k < 0 || !*rest)
		return false;
	const char *slash2 = strchr(rest, '/');
	if (k == VF_KIND_VOLUME)
		return slash2 && slash2 != rest && slash2[1] && !strchr(slash2 + 1, '/');
	return !slash2;
}

enum {
	OPT_STATE_DIR = 0x100,
	OPT_JSON,
	OPT_REPLACE,
	OPT_COLOR,
	OPT_LOCK_TIMEOUT,
	OPT_LOCK_WAIT,
	OPT_ALLOW_EMPTY,
	OPT_CONNECT_TIMEOUT,
	OPT_SNAPSHOT,
	OPT_OUT,
	OPT_PLAN,
};

/* Parse the options of `cmd`; returns -1 to go on, else an exit code. */
int vf_parse_args(vf_cli *cli, int argc, char **argv, const char *usage)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "replace", required_argument, NULL, OPT_REPLACE },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
		{ "lock-wait", required_argument, NULL, OPT_LOCK_WAIT },
		{ "allow-empty", no_argument, NULL, OPT_ALLOW_EMPTY },
		{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
		{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "plan", required_argument, NULL, OPT_PLAN },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool is_validate = strcmp(cli->command, "validate") == 0;
	bool is_apply = strcmp(cli->command, "apply") == 0;
	bool is_plan = strcmp(cli->command, "plan") == 0;
	bool is_snapshot = strcmp(cli->command, "snapshot") == 0;
	bool timeout_given = false; /* --connect-timeout: refused with --snapshot */
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return VF_EXIT_OK;
		case 'c':
		case OPT_STATE_DIR:
		case OPT_REPLACE:
			if (is_validate)
				return vf_usage_error(cli->command, "'validate' takes no %s option",
						      argv[optind - 1]);
			if (c == 'c')
				cli->uri = optarg;
			else if (c == OPT_STATE_DIR)
				cli->state_dir = optarg;
			else {
				if (!vf_replace_arg_ok(optarg))
					return vf_usage_error(cli->command,
							      "--replace takes StoragePool/NAME, Network/NAME, Volume/POOL/NAME or Domain/NAME, not '%s'",
							      optarg);
				VF_APPEND(cli->replace, cli->n_replace, cli->cap_replace, optarg);
			}
			break;
		case OPT_LOCK_TIMEOUT:
		case OPT_LOCK_WAIT: {
			const char *name = c == OPT_LOCK_TIMEOUT ? "--lock-timeout" : "--lock-wait";
			if (!is_apply)
				return vf_usage_error(cli->command, "%s is for apply only", name);
			if (vf_parse_seconds(optarg, c == OPT_LOCK_TIMEOUT ? &cli->lock_timeout_ms
									 : &cli->lock_wait_ms) < 0)
				return vf_usage_error(cli->command,
						      "%s takes seconds (0 to 86400), not '%s'", name,
						      optarg);
			break;
		}
		case OPT_CONNECT_TIMEOUT:
			if (is_validate)
				return vf_usage_error(cli->command, "'validate' takes no --connect-timeout option");
			if (vf_parse_seconds(optarg, &cli->connect_timeout_ms) < 0)
				return vf_usage_error(cli->command,
						      "--connect-timeout takes seconds (0 to 86400), not '%s'",
						      optarg);
			timeout_given = true;
			break;
		case OPT_SNAPSHOT:
			if (!is_plan)
				return vf_usage_error(cli->command, "--snapshot is for plan only");
			cli->snapshot = optarg;
			break;
		case OPT_OUT:
			if (!is_plan && !is_snapshot)
				return vf_usage_error(cli->command, "--out is for plan and snapshot only");
			cli->out = optarg;
			break;
		case OPT_PLAN:
			if (!is_apply)
				return vf_usage_error(cli->command, "--plan is for apply only");
			cli->plan_file = optarg;
			break;
		case OPT_JSON:
			if (is_snapshot)
				return vf_usage_error(cli->command, "a snapshot is JSON already; 'snapshot' takes no --json");
			cli->json = true;
			break;
		case OPT_ALLOW_EMPTY:
			cli->allow_empty = true;
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "always") == 0)
				cli->color = true;
			else if (strcmp(optarg, "never") == 0)
				cli->color = false;
			else if (strcmp(optarg, "auto") == 0)
				cli->color = vf_color_auto();
			else
				return vf_usage_error(cli->command,
						      "--color takes auto, always or never, not '%s'",
						      optarg);
			break;
		case '?':
		default:
			if (optopt && optopt < 0x100 && optopt != '?')
				return vf_usage_error(cli->command, "option -%c needs an argument",
						      (char)optopt);
			return vf_usage_error(cli->command, "unknown option '%s'", argv[optind - 1]);
		}
	}
	cli->paths = argv + optind;
	cli->n_paths = (size_t)(argc - optind);
	if (is_snapshot) {
		if (cli->n_paths)
			return vf_usage_error(cli->command, "'snapshot' takes no manifest PATH");
		if (cli->replace || cli->allow_empty)
			return vf_usage_error(cli->command, "'snapshot' plans nothing: no --replace or --allow-empty");
		return -1;
	}
	if (cli->plan_file && (cli->replace || cli->allow_empty))
		return vf_usage_error(cli->command,
				      "a saved plan carries the --replace and --allow-empty it was made with; give them to plan --out");
	/* A snapshot brings its own host and state directory: a flag that
	 * would choose either is a mistake to point out, not to ignore. */
	if (cli->snapshot && cli->uri)
		return vf_usage_error(cli->command, "--snapshot plans without a connection; it takes no -c");
	if (cli->snapshot && cli->state_dir)
		return vf_usage_error(cli->command,
				      "--snapshot plans against the snapshot's own ledger; it takes no --state-dir");
	if (cli->snapshot && timeout_given)
		return vf_usage_error(cli->command,
				      "--snapshot plans without a connection; it takes no --connect-timeout");
	if (cli->n_paths == 0)
		return vf_usage_error(cli->command, "'%s' needs at least one manifest PATH",
				      cli->command);
	return -1;
}
