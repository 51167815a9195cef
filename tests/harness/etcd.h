/* etcd.h: a real etcd for the tests (etcd-server, Debian's 3.4): one member
 * or a small cluster on 127.0.0.1, free ports, a temporary data directory,
 * each member its own process so a test can kill the leader. Removed again
 * by vf_test_etcd_stop(). Not a mock: the driver talks to etcd itself. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#define VF_TEST_ETCD_MAX 5

typedef struct vf_test_etcd {
	int n;
	pid_t pid[VF_TEST_ETCD_MAX];          /* 0: killed */
	char *client_url[VF_TEST_ETCD_MAX];   /* http://127.0.0.1:PORT */
	char *endpoints;                      /* every client URL, comma-separated */
	char *dir;                            /* data directories and logs */
} vf_test_etcd;

/* Start n members (1 or 3, say) and wait until each answers; fails the
 * test when etcd does not come up within 20 s. */
void vf_test_etcd_start(vf_test_etcd *e, int n);
/* The index of the member that is the leader now (-1: none answers). */
int vf_test_etcd_leader(const vf_test_etcd *e);
/* SIGKILL member i and reap it. */
void vf_test_etcd_kill(vf_test_etcd *e, int i);
/* Kill every member, remove the data directory, free. */
void vf_test_etcd_stop(vf_test_etcd *e);
