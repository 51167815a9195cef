/* status.h: the watch daemon's control sockets, libvirt style: a read-only
 * socket (watch-ro.sock, 0660, group configurable) that answers `status`,
 * and a privileged one (watch.sock, 0600) that also takes commands that
 * change something (`reload`, `reconcile`). Protocol: one JSON request
 * line, one JSON response line (json-c). Also the client side `virtform
 * status` uses, and the text rendering of a status document. */
#pragma once

#include <json-c/json.h>
#include <poll.h>

#include "error.h"
#include "util.h"

#define VF_STATUS_SOCK "watch.sock"
#define VF_STATUS_RO_SOCK "watch-ro.sock"

typedef struct vf_status_server vf_status_server;

/* Answer one request: return the response object (ownership passes to the
 * caller). `privileged` is true on watch.sock. */
typedef json_object *(*vf_status_handler)(const char *command, bool privileged, void *userdata);

/* Create both sockets in runtime_dir (created 0755, or 0750 and of
 * `group`, when missing; refused like a state directory when others could
 * change it). Stale sockets are replaced; sockets another daemon still
 * answers on are not (-VF_E_LOCKED). `group` (NULL: keep root's) gets
 * read-write access to watch-ro.sock and can traverse runtime_dir. */
int vf_status_server_open(const char *runtime_dir, const char *group, vf_status_server **out,
			  vf_error *err);
/* The two listening descriptors, for poll: [0] privileged, [1] read-only. */
void vf_status_server_fds(const vf_status_server *s, int fds[2]);
/* Accept one client on `fd` (one of the two), read its request line and
 * answer it within one deadline for the whole request (2 s), hang up. A
 * client too slow for it is dropped unanswered. Never fails the daemon. */
void vf_status_server_serve(vf_status_server *s, int fd, vf_status_handler h, void *userdata);
/* Close and remove both sockets; accepts NULL. */
void vf_status_server_close(vf_status_server *s);

/* Client: send {"command": command} to the daemon whose sockets are in
 * runtime_dir (through watch.sock when `privileged`, else watch-ro.sock)
 * and return its response. -VF_E_IO when no daemon listens there. */
int vf_status_request(const char *runtime_dir, const char *command, bool privileged,
		      json_object **out, vf_error *err);

/* A status document as text for people (caller frees). */
char *vf_status_format_text(json_object *status);

/* Ask for {"ok": false, "error": message}. */
json_object *vf_status_error_response(const char *message);
