/* fence.c: the libvirt side of the fleet (docs/fleet.md): force a domain
 * off (virDomainDestroy), record which host started a placed domain under
 * which fencing token (a metadata element in a namespace of its own,
 * VF_FENCE_NS, read back by observe), and find a running domain's QEMU
 * process for the fence helper. Not the decisions: controller/watch/fleet.c. */
#include "lv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "drivers/fence/proc.h"

int vf_lv_domain_destroy(vf_conn *c, const char *name, vf_error *err)
{
	_cleanup_dom_ virDomainPtr d = virDomainLookupByName(c->conn, name);
	if (!d)
		return vf_error_set(err, VF_E_DRIVER, "cannot force domain \"%s\" off: %s", name,
				    vf_lv__msg());
	if (virDomainIsActive(d) == 0)
		return 0;
	if (virDomainDestroy(d) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot force domain \"%s\" off: %s", name,
				    vf_lv__msg());
	return 0;
}

int vf_lv_domain_set_fence(vf_conn *c, const char *name, const char *host, uint64_t token,
			   vf_error *err)
{
	_cleanup_dom_ virDomainPtr d = virDomainLookupByName(c->conn, name);
	if (!d)
		return vf_error_set(err, VF_E_DRIVER, "cannot record the fencing token of domain \"%s\": %s",
				    name, vf_lv__msg());
	/* Built with libxml2, so a host id is always escaped (it is checked
	 * to [A-Za-z0-9._-] anyway). */
	_cleanup_doc_ xmlDocPtr doc = xmlNewDoc(VF_XC("1.0"));
	xmlNodePtr root = xmlNewNode(NULL, VF_XC("fence"));
	xmlDocSetRootElement(doc, root);
	char tok[24];
	snprintf(tok, sizeof(tok), "%" PRIu64, token);
	xmlNewProp(root, VF_XC("host"), VF_XC(host));
	xmlNewProp(root, VF_XC("token"), VF_XC(tok));
	xmlChar *xml = NULL;
	int len = 0;
	xmlDocDumpMemory(doc, &xml, &len);
	/* Past the XML declaration: SetMetadata wants the element alone. */
	const char *el = xml ? strstr((const char *)xml, "<fence") : NULL;
	unsigned flags = VIR_DOMAIN_AFFECT_CONFIG;
	if (virDomainIsActive(d) == 1)
		flags |= VIR_DOMAIN_AFFECT_LIVE;
	int r = el ? virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, el, VF_FENCE_PREFIX,
					  VF_FENCE_NS, flags)
		   : -1;
	xmlFree(xml);
	if (r < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot record the fencing token of domain \"%s\": %s",
				    name, vf_lv__msg());
	return 0;
}

/* /run/libvirt/qemu/NAME.pid: the pid libvirtd's qemu driver wrote for
 * the running domain. Checked against /proc/PID/cmdline carrying "-name"
 * "guest=NAME,..." (as libvirt starts QEMU), so a stale file never names
 * an unrelated process. */
static int vf_lv__qemu_pid(const char *name, int *ret, vf_error *err)
{
	_cleanup_free_ char *path = vf_asprintf("/run/libvirt/qemu/%s.pid", name);
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return vf_error_set(err, VF_E_IO, "cannot read the QEMU pid of domain \"%s\" from %s: %s",
				    name, path, n == 0 ? "empty file" : strerror(e));
	char *end = NULL;
	long pid = strtol(buf, &end, 10);
	if (pid <= 0 || (end && *end && *end != '\n'))
		return vf_error_set(err, VF_E_IO, "%s does not hold a pid (\"%s\")", path, buf);
	bool found = vf_proc_is_guest((pid_t)pid, name);
	if (!found)
		return vf_error_set(err, VF_E_IO,
				    "pid %ld from %s is not domain \"%s\"'s QEMU (no -name guest=%s in its command line)",
				    pid, path, name, name);
	*ret = (int)pid;
	return 0;
}

int vf_lv_domain_pid(vf_conn *c, const char *name, int *pid, unsigned long long *starttime,
		     vf_error *err)
{
	/* Not running (or not here) first: that answer holds on any URI, and
	 * the fleet releases a lock on it. */
	_cleanup_dom_ virDomainPtr d = virDomainLookupByName(c->conn, name);
	if (!d)
		return vf_error_set(err, VF_E_DRIVER, "cannot find domain \"%s\": %s", name, vf_lv__msg());
	if (virDomainIsActive(d) != 1)
		return vf_error_set(err, VF_E_DRIVER, "domain \"%s\" is not running: it has no process",
				    name);
	const char *uri = vf_lv_uri(c);
	if (!uri || strcmp(uri, "qemu:///system") != 0)
		return vf_error_set(err, VF_E_USAGE,
				    "finding the process of domain \"%s\" works on qemu:///system only (a local connection), not on %s",
				    name, uri ? uri : "this connection");
	int p = 0;
	int r = vf_lv__qemu_pid(name, &p, err);
	if (r < 0)
		return r;
	uint64_t st = 0;
	if ((r = vf_proc_starttime(p, &st)) < 0)
		return vf_error_set(err, VF_E_IO, "cannot read the start time of pid %d (domain \"%s\"): %s",
				    p, name, strerror(-r));
	*pid = p;
	*starttime = st;
	return 0;
}
