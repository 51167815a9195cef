/* xml.c: the few libxml2 helpers the libvirt driver reads and writes XML
 * with: safe parsing, XPath lookups, libvirt's size units, escaping tree
 * builders, the permissions and UUID blocks pools and volumes share, and
 * the host's capabilities. Each kind's own documents are its file's
 * (pool.c, volume.c, domain_xml.c). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include <libxml/xmlerror.h>

#include "lv.h"

xmlDocPtr vf_lv__xml_read(const char *text)
{
	if (!text)
		return NULL;
	/* No network, no DTD loading, no entity substitution, no printing. */
	return xmlReadMemory(text, (int)strlen(text), "libvirt.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

const char *vf_lv__xml_last_error(void)
{
	static __thread char buf[512];
	const xmlError *e = xmlGetLastError();
	if (!e || !e->message)
		return "unknown XML error";
	snprintf(buf, sizeof(buf), "line %d: %s", e->line, e->message);
	size_t n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return buf;
}

static xmlXPathObjectPtr vf_lv__xeval(xmlXPathContextPtr ctx, xmlNodePtr at, const char *expr)
{
	ctx->node = at ? at : xmlDocGetRootElement(ctx->doc);
	return xmlXPathEvalExpression(VF_XC(expr), ctx);
}

char *vf_lv__xstr(xmlXPathContextPtr ctx, xmlNodePtr at, const char *expr)
{
	_cleanup_free_ char *wrapped = vf_asprintf("string(%s)", expr);
	_cleanup_xobj_ xmlXPathObjectPtr r = vf_lv__xeval(ctx, at, wrapped);
	if (!r || r->type != XPATH_STRING || !r->stringval || !r->stringval[0])
		return NULL;
	return vf_strdup((const char *)r->stringval);
}

xmlXPathObjectPtr vf_lv__xnodes(xmlXPathContextPtr ctx, xmlNodePtr at, const char *expr)
{
	return vf_lv__xeval(ctx, at, expr);
}

bool vf_lv__xbool(xmlXPathContextPtr ctx, xmlNodePtr at, const char *expr)
{
	_cleanup_free_ char *wrapped = vf_asprintf("boolean(%s)", expr);
	_cleanup_xobj_ xmlXPathObjectPtr r = vf_lv__xeval(ctx, at, wrapped);
	return r && r->type == XPATH_BOOLEAN && r->boolval;
}

/* libvirt's units: b/byte/bytes; K, KiB = 1024; KB = 1000; likewise M G T P E. */
static bool vf_lv__unit_scale(const char *unit, uint64_t dflt, uint64_t *out)
{
	if (!unit || !*unit) {
		*out = dflt;
		return true;
	}
	if (strcasecmp(unit, "b") == 0 || strcasecmp(unit, "byte") == 0 ||
	    strcasecmp(unit, "bytes") == 0) {
		*out = 1;
		return true;
	}
	uint64_t base;
	if (unit[1] == '\0' || strcasecmp(unit + 1, "iB") == 0)
		base = 1024;
	else if (strcasecmp(unit + 1, "B") == 0)
		base = 1000;
	else
		return false;
	static const char powers[] = "kmgtpe";
	const char *p = strchr(powers, tolower((unsigned char)unit[0]));
	if (!p || !*p)
		return false;
	uint64_t scale = 1;
	for (const char *q = powers; q <= p; q++)
		scale *= base;
	*out = scale;
	return true;
}

bool vf_lv__xsize(xmlXPathContextPtr ctx, xmlNodePtr at, const char *expr, uint64_t dflt_unit,
		  uint64_t *out)
{
	_cleanup_free_ char *num = vf_lv__xstr(ctx, at, expr);
	if (!num)
		return false;
	_cleanup_free_ char *unit_expr = vf_asprintf("(%s)/@unit", expr);
	_cleanup_free_ char *unit = vf_lv__xstr(ctx, at, unit_expr);
	uint64_t scale;
	if (!vf_lv__unit_scale(unit, dflt_unit, &scale))
		return false;
	errno = 0;
	char *end = NULL;
	unsigned long long v = strtoull(num, &end, 10);
	if (errno || end == num || *end)
		return false;
	if (scale && v > UINT64_MAX / scale)
		return false;
	*out = (uint64_t)v * scale;
	return true;
}

xmlNodePtr vf_lv__add(xmlNodePtr parent, const char *name, const char *text)
{
	/* xmlNewTextChild escapes `text`; xmlNewChild would not. */
	xmlNodePtr n = xmlNewTextChild(parent, NULL, VF_XC(name), VF_XC(text));
	if (!n)
		abort();
	return n;
}

void vf_lv__attr(xmlNodePtr node, const char *name, const char *value)
{
	if (!xmlNewProp(node, VF_XC(name), VF_XC(value)))
		abort();
}

void vf_lv__attrf(xmlNodePtr node, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *v = vf_vasprintf(fmt, ap);
	va_end(ap);
	vf_lv__attr(node, name, v);
	free(v);
}

/* ---- reading a document ------------------------------------------------- */

void vf_lv__xdoc_free(vf_lv_xdoc *x)
{
	if (x->ctx)
		xmlXPathFreeContext(x->ctx);
	if (x->doc)
		xmlFreeDoc(x->doc);
}

int vf_lv__xdoc_open(vf_lv_xdoc *x, const char *xml, const char *what, vf_error *err)
{
	x->doc = vf_lv__xml_read(xml);
	if (!x->doc || !xmlDocGetRootElement(x->doc))
		return vf_error_set(err, VF_E_DRIVER, "cannot read the XML libvirt gave for %s: %s",
				    what, vf_lv__xml_last_error());
	x->ctx = xmlXPathNewContext(x->doc);
	if (!x->ctx)
		abort();
	return 0;
}

int64_t vf_lv__xint(xmlXPathContextPtr ctx, xmlNodePtr at, const char *expr, int base,
			   int64_t dflt)
{
	_cleanup_free_ char *s = vf_lv__xstr(ctx, at, expr);
	if (!s)
		return dflt;
	errno = 0;
	char *end = NULL;
	long long v = strtoll(s, &end, base);
	if (errno || end == s || *end)
		return dflt;
	return v;
}

void vf_lv__read_perms(xmlXPathContextPtr ctx, int64_t *owner, int64_t *group,
			      int32_t *mode)
{
	*owner = vf_lv__xint(ctx, NULL, "/*/target/permissions/owner", 10, -1);
	*group = vf_lv__xint(ctx, NULL, "/*/target/permissions/group", 10, -1);
	*mode = (int32_t)vf_lv__xint(ctx, NULL, "/*/target/permissions/mode", 8, -1);
}

bool vf_lv__caps_have_kvm(const char *caps_xml)
{
	_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
	if (vf_lv__xdoc_open(&x, caps_xml, "the capabilities", NULL) < 0)
		return false;
	_cleanup_free_ char *arch = vf_lv__xstr(x.ctx, NULL, "/capabilities/host/cpu/arch");
	_cleanup_xobj_ xmlXPathObjectPtr archs =
		vf_lv__xnodes(x.ctx, NULL, "/capabilities/guest/arch[domain/@type='kvm']");
	for (int i = 0; archs && archs->nodesetval && i < archs->nodesetval->nodeNr; i++) {
		_cleanup_free_ char *name = vf_lv__xstr(x.ctx, archs->nodesetval->nodeTab[i], "@name");
		if (vf_streq(name, arch))
			return true;
	}
	return false;
}

unsigned vf_lv__caps_domain_types(const char *caps_xml)
{
	_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
	if (vf_lv__xdoc_open(&x, caps_xml, "the capabilities", NULL) < 0)
		return 0;
	_cleanup_free_ char *arch = vf_lv__xstr(x.ctx, NULL, "/capabilities/host/cpu/arch");
	static const vf_domain_type types[] = { VF_DOMAIN_KVM, VF_DOMAIN_QEMU, VF_DOMAIN_LXC };
	unsigned out = 0;
	for (size_t i = 0; arch && i < VF_ARRAY_SIZE(types); i++) {
		/* the type name and the arch come from a fixed table and libvirt */
		_cleanup_free_ char *q = vf_asprintf(
			"/capabilities/guest/arch[@name='%s'][domain/@type='%s']", arch,
			vf_domain_type_to_string(types[i]));
		if (strchr(arch, '\'') == NULL && vf_lv__xbool(x.ctx, NULL, q))
			out |= 1u << types[i];
	}
	return out;
}

char *vf_lv__pool_type(const char *pool_xml)
{
	_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
	if (vf_lv__xdoc_open(&x, pool_xml, "a storage pool", NULL) < 0)
		return NULL;
	return vf_lv__xstr(x.ctx, NULL, "/pool/@type");
}

/* ---- writing a document ------------------------------------------------- */

xmlDocPtr vf_lv__new_doc(const char *root_name, xmlNodePtr *root)
{
	xmlDocPtr doc = xmlNewDoc(VF_XC("1.0"));
	if (!doc)
		abort();
	*root = xmlNewNode(NULL, VF_XC(root_name));
	if (!*root)
		abort();
	xmlDocSetRootElement(doc, *root);
	return doc;
}

char *vf_lv__dump_free(xmlDocPtr doc)
{
	/* libvirt wants the element alone, without an XML declaration */
	xmlBufferPtr buf = xmlBufferCreate();
	if (!buf)
		abort();
	xmlNodeDump(buf, doc, xmlDocGetRootElement(doc), 0, 1);
	char *s = vf_strndup((const char *)xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
	xmlBufferFree(buf);
	xmlFreeDoc(doc);
	return s;
}

void vf_lv__perms(xmlNodePtr target, const vf_perms *p)
{
	if (p->mode < 0 && p->owner < 0 && p->group < 0)
		return;
	xmlNodePtr perms = vf_lv__add(target, "permissions", NULL);
	if (p->mode >= 0) {
		char mode[16];
		snprintf(mode, sizeof(mode), "%04o", (unsigned)p->mode);
		vf_lv__add(perms, "mode", mode);
	}
	if (p->owner >= 0) {
		_cleanup_free_ char *s = vf_asprintf("%lld", (long long)p->owner);
		vf_lv__add(perms, "owner", s);
	}
	if (p->group >= 0) {
		_cleanup_free_ char *s = vf_asprintf("%lld", (long long)p->group);
		vf_lv__add(perms, "group", s);
	}
}

void vf_lv__uuid(xmlNodePtr root, const uuid_t uuid)
{
	char s[UUID_STR_LEN];
	uuid_unparse_lower(uuid, s);
	vf_lv__add(root, "uuid", s);
}

/* ---- pools --------------------------------------------------------------- */

xmlNodePtr vf_lv__child(xmlNodePtr parent, const char *name)
{
	for (xmlNodePtr n = parent->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !n->ns && xmlStrEqual(n->name, VF_XC(name)))
			return n;
	return NULL;
}
