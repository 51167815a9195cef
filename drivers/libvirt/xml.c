/* xml.c: the few libxml2 helpers the libvirt driver reads and writes XML
 * with: safe parsing, XPath lookups, libvirt's size units, escaping tree
 * builders. Not for knowledge of any particular libvirt document. */
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
