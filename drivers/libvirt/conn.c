/* conn.c: opening and closing a libvirt connection, and turning libvirt's
 * errors into vf_error. libvirt's default handlers print to stderr; no-op
 * handlers replace them so library code never prints.
 * Not for any object operation: those live in domain.c, pool.c, volume.c. */
#include <pthread.h>
#include <strings.h>

#include <libxml/xmlerror.h>

#include "lv.h"

static void vf_lv__quiet(void *userdata, virErrorPtr error)
{
	(void)userdata;
	(void)error; /* kept by libvirt for virGetLastError() */
}

static void vf_lv__xml_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void vf_lv__init_once(void)
{
	virInitialize();
	virSetErrorFunc(NULL, vf_lv__quiet);
}

const char *vf_lv__msg(void)
{
	virErrorPtr e = virGetLastError();
	if (!e || !e->message)
		return "unknown libvirt error";
	return e->message;
}

int vf_lv__code(void)
{
	virErrorPtr e = virGetLastError();
	return e ? e->code : VIR_ERR_OK;
}

int vf_lv_open(const char *uri, vf_conn **out, vf_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, vf_lv__init_once);

	virResetLastError();
	/* The test driver reads its state file with libxml2, which reports a
	 * missing file on stderr itself; libvirt's error says it too. */
	xmlGenericErrorFunc saved = xmlGenericError;
	void *saved_ctx = xmlGenericErrorContext;
	xmlSetGenericErrorFunc(NULL, vf_lv__xml_quiet);
	virConnectPtr conn = virConnectOpen(uri);
	xmlSetGenericErrorFunc(saved_ctx, saved);
	if (!conn)
		return vf_error_set(err, VF_E_DRIVER, "cannot connect to libvirt at \"%s\": %s",
				    uri ? uri : "(default)", vf_lv__msg());
	virConnSetErrorFunc(conn, NULL, vf_lv__quiet);

	vf_conn *c = vf_calloc(1, sizeof(*c));
	c->conn = conn;
	c->uri = virConnectGetURI(conn);
	if (!c->uri)
		c->uri = vf_strdup(uri ? uri : "");
	const char *type = virConnectGetType(conn);
	c->hv_type = vf_strdup(type ? type : "");
	c->is_test = strcasecmp(c->hv_type, "test") == 0;
	*out = c;
	return 0;
}

void vf_lv_close(vf_conn *c)
{
	if (!c)
		return;
	if (c->conn)
		virConnectClose(c->conn);
	free(c->uri);
	free(c->hv_type);
	free(c);
}

const char *vf_lv_uri(vf_conn *c)
{
	return c ? c->uri : NULL;
}
