/* args.h: virtform's command line as parsed (args.c), for the commands
 * in main.c. Internal to controller/cli/. */
#pragma once

#include "drivers/driver.h"
#include "controller/core/statedir.h"
#include "controller/core/util.h"

/* root's; another user's is $XDG_STATE_HOME/virtform (vf_statedir_default) */
#define VF_DEFAULT_STATE_DIR VF_SYSTEM_STATE_DIR

/* Exit codes (docs/virtform.1). */
enum {
	VF_EXIT_OK = 0,
	VF_EXIT_FAIL = 1,
	VF_EXIT_CHANGES = 2, /* plan: changes pending */
	VF_EXIT_USAGE = 2,
};

typedef struct vf_cli {
	const char *command;
	const char *uri;
	const char *state_dir;    /* NULL until parsed: then --state-dir or the default */
	bool json;
	bool color;
	bool allow_empty;         /* --allow-empty: an empty manifest set may remove */
	unsigned lock_timeout_ms;
	unsigned lock_wait_ms;
	unsigned connect_timeout_ms; /* --connect-timeout; 0: wait for ever */
	const char **replace;
	size_t n_replace;
	size_t cap_replace;
	char **paths;
	size_t n_paths;
	const char *snapshot;     /* plan --snapshot FILE: plan offline against it */
	const char *out;          /* plan --out FILE: save the plan; snapshot --out FILE */
	const char *plan_file;    /* apply --plan FILE: apply that saved plan */
} vf_cli;

/* The usage texts (--help). */
extern const char vf_usage_main[];
extern const char vf_usage_validate[];
extern const char vf_usage_plan[];
extern const char vf_usage_apply[];
extern const char vf_usage_snapshot[];
extern const char vf_usage_version[];

/* "virtform: MESSAGE" and where to find help on stderr; the exit code
 * (1 for plan, whose 2 means changes pending; else 2). */
int vf_usage_error(const char *cmd, const char *fmt, ...) VF_PRINTF(2, 3);
/* Colour by default: stdout a terminal, NO_COLOR unset, TERM not dumb. */
bool vf_color_auto(void);
/* Parse the options of `cmd`; returns -1 to go on, else an exit code. */
int vf_parse_args(vf_cli *cli, int argc, char **argv, const char *usage);
