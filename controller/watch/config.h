/* config.h: the watch daemon's settings and the parser for its config file
 * (/etc/virtform/virtform.conf): `key = value` lines with `#` comments.
 * Not YAML and not for manifests; command-line flags are merged on top by
 * the caller (vf_config_merge), flags winning. */
#pragma once

#include "controller/core/error.h"
#include "controller/core/statedir.h"
#include "controller/core/util.h"

#define VF_CONFIG_DEFAULT_PATH "/etc/virtform/virtform.conf"
/* The settings file read when --config is not given: VF_CONFIG_DEFAULT_PATH
 * for root, $XDG_CONFIG_HOME/virtform/virtform.conf (~/.config/...) for any
 * other user, as libvirt's session daemon reads ~/.config/libvirt/. A user's
 * daemon must not pick up the system daemon's state_dir. Caller frees. */
char *vf_config_default_path(bool privileged);

/* syslog priorities, as journald reads the `<N>` prefix. */
typedef enum vf_log_level {
	VF_LOG_ERR = 3,           /* "err" */
	VF_LOG_WARNING = 4,       /* "warning" */
	VF_LOG_NOTICE = 5,        /* "notice" */
	VF_LOG_INFO = 6,          /* "info" */
	VF_LOG_DEBUG = 7,         /* "debug" */
	VF_LOG_LEVEL_MAX,
} vf_log_level;
VF_STRING_TABLE_DECL(vf_log_level, vf_log_level);

/* Every setting of the daemon. Strings are owned; `has_*` (and non-NULL
 * strings) mark what a source set, so merging knows what to override. */
typedef struct vf_config {
	char *connect;            /* libvirt URI; NULL: libvirt's default */
	char *manifests;          /* the manifest directory (DIR) */
	char *state_dir;          /* ledger, lock, sockets */
	char *socket_group;       /* group of watch-ro.sock; NULL: root's */
	char *runtime_dir;        /* control sockets (watch.sock, watch-ro.sock) */
	bool has_debounce_ms;
	unsigned debounce_ms;     /* default 250, 0..60000 */
	bool has_resync_seconds;
	unsigned resync_seconds;  /* default 60, 1..86400 */
	bool has_max_backoff_seconds;
	unsigned max_backoff_seconds; /* default 300, 1..86400 */
	bool has_log_level;
	vf_log_level log_level;   /* default info */
	bool has_allow_empty;
	bool allow_empty;         /* allowEmpty: an empty manifest set may remove; default false */
	char *metrics;            /* Prometheus metrics address (metrics.h); NULL: off */
	/* The fleet (docs/fleet.md): on when etcd is set. */
	char *host_id;            /* host_id, --host-id; NULL: the hostname */
	char *etcd;               /* etcd, --etcd: client URLs, comma-separated; NULL: no fleet */
	char *etcd_prefix;        /* etcd_prefix; default "/virtform" */
	bool has_lease_ttl_ms;
	unsigned lease_ttl_ms;    /* lease_ttl, --lease-ttl DURATION; default 10 s, at least 1 s */
	char *host_labels;        /* host_labels "K=V,K=V"; each --host-label adds one */
	char *fence_watchdog;     /* fence_watchdog: /dev/watchdog (or a FIFO); NULL: none */
	bool has_fence_watchdog_ms;
	unsigned fence_watchdog_ms; /* fence_watchdog_ms; default min(5000, 2/3 of the TTL) */
	char *fence_helper;       /* fence_helper; default virtform-fence next to virtform */
} vf_config;

/* Parse config text; `path` names it in errors ("FILE:LINE:COL: ..."; the
 * position is also in err->pos, file borrowed from `path`). On error *out is
 * untouched. Keys may appear once; unknown keys get a "did you mean". */
int vf_config_parse(const char *path, const char *text, vf_config *out, vf_error *err);

/* Read and parse `path`. A missing file is an error only when `must_exist`
 * (an explicit --config); otherwise it yields an empty config. */
int vf_config_load(const char *path, bool must_exist, vf_config *out, vf_error *err);

/* Copy every setting `over` has onto *base (flags over the file). */
void vf_config_merge(vf_config *base, const vf_config *over);

/* Fill what nothing set with the defaults (state dir, timings, level);
 * the directories are root's or, for any other user, the XDG ones
 * (vf_statedir_default, vf_runtimedir_default). */
void vf_config_defaults(vf_config *c);

/* Parse one value as the config file and the flags both do; 0 or -VF_E_USAGE
 * with err saying which range is allowed. `key` names it in messages. */
int vf_config_set(vf_config *c, const char *key, const char *value, vf_error *err);

void vf_config_free(vf_config *c);

#define VF_DEFAULT_DEBOUNCE_MS 250u
#define VF_DEFAULT_LEASE_TTL_MS 10000u
#define VF_DEFAULT_ETCD_PREFIX "/virtform"

#define VF_DEFAULT_RESYNC_SECONDS 60u
#define VF_DEFAULT_MAX_BACKOFF_SECONDS 300u
/* root's defaults (controller/core/statedir.h has every user's): the
 * control sockets' directory as libvirtd uses /run/libvirt. */
#define VF_WATCH_DEFAULT_STATE_DIR VF_SYSTEM_STATE_DIR
#define VF_WATCH_DEFAULT_RUNTIME_DIR VF_SYSTEM_RUNTIME_DIR
