/* libssh_overlap.c: does the installed libvirt's client survive two
 * threads' calls overlapping on one connection? Opens URI the way virtform
 * does (libvirt's event loop on a thread, a keepalive), then THREADS
 * threads each make ROUNDS rounds of calls observe makes (capabilities,
 * every pool and domain listed and its XML read) on that one connection.
 * Prints "ok" and exits 0 when every call returned; a failed call exits 3.
 * Debian 12's libvirt 9.0 over qemu+libssh:// dies of SIGSEGV in its RPC
 * event loop, or never returns, within seconds with 2 threads; over
 * qemu+ssh:// it passes (docs/virtform.1, CONNECTIONS). So virtform never
 * overlaps calls over libssh (vf_lv__calls_may_overlap), and
 * tests/integration/libssh_canary.sh runs this to tell when libvirt is fixed.
 * libvirt's public API only: nothing of virtform's is linked in.
 *
 * usage: libssh_overlap URI THREADS ROUNDS KEEPALIVE_S (0: none) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static virConnectPtr lo_conn;
static int lo_rounds;

static void lo_quiet(void *userdata, virErrorPtr error)
{
	(void)userdata;
	(void)error;
}

static void *lo_event_loop(void *arg)
{
	(void)arg;
	for (;;)
		virEventRunDefaultImpl();
	return NULL;
}

static void lo_failed(const char *what)
{
	fprintf(stderr, "libssh_overlap: %s failed: %s\n", what, virGetLastErrorMessage());
	exit(3);
}

static void *lo_worker(void *arg)
{
	(void)arg;
	for (int r = 0; r < lo_rounds; r++) {
		char *caps = virConnectGetCapabilities(lo_conn);
		if (!caps)
			lo_failed("virConnectGetCapabilities");
		free(caps);
		virStoragePoolPtr *pools = NULL;
		int n = virConnectListAllStoragePools(lo_conn, &pools, 0);
		if (n < 0)
			lo_failed("virConnectListAllStoragePools");
		for (int i = 0; i < n; i++) {
			free(virStoragePoolGetXMLDesc(pools[i], 0));
			virStoragePoolFree(pools[i]);
		}
		free(pools);
		virDomainPtr *doms = NULL;
		n = virConnectListAllDomains(lo_conn, &doms, 0);
		if (n < 0)
			lo_failed("virConnectListAllDomains");
		for (int i = 0; i < n; i++) {
			free(virDomainGetXMLDesc(doms[i], 0));
			virDomainFree(doms[i]);
		}
		free(doms);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: libssh_overlap URI THREADS ROUNDS KEEPALIVE_S\n");
		return 2;
	}
	int threads = atoi(argv[2]), keepalive_s = atoi(argv[4]);
	lo_rounds = atoi(argv[3]);
	if (threads < 1 || threads > 16 || lo_rounds < 1 || keepalive_s < 0) {
		fprintf(stderr, "libssh_overlap: THREADS 1-16, ROUNDS >= 1, KEEPALIVE_S >= 0\n");
		return 2;
	}
	virSetErrorFunc(NULL, lo_quiet);
	if (virEventRegisterDefaultImpl() < 0)
		lo_failed("virEventRegisterDefaultImpl");
	pthread_t loop;
	if (pthread_create(&loop, NULL, lo_event_loop, NULL) != 0)
		return 2;
	lo_conn = virConnectOpen(argv[1]);
	if (!lo_conn)
		lo_failed("virConnectOpen");
	if (keepalive_s > 0 && virConnectSetKeepAlive(lo_conn, keepalive_s, 15) < 0)
		lo_failed("virConnectSetKeepAlive");
	pthread_t t[16];
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, lo_worker, NULL) != 0)
			return 2;
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("ok\n");
	return 0; /* the event loop thread never ends: exit takes it */
}
