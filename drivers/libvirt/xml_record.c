/* xml_record.c: the record of a raw-XML define (vf_xml_record: the digest
 * of what virtform sent and of libvirt's normalised form of it), written
 * into and read back from virtform's own metadata element, and the
 * "document without virtform's element" (and its digest) both sides of the
 * comparison use. The texts themselves live in the state directory
 * (controller/state/records.c). Not for deciding drift: the planner
 * compares (controller/plan/domain_diff.c).
 *
 * Kind-neutral except vf_lv__record_domain: a kind with <metadata> sets
 * vf_lv__record_owner_xml with its own SetMetadata call; pools (no
 * <metadata>) keep the two digests in their ledger entry (the controller
 * writes it) and use vf_lv__record_pool_bare on their inactive XML. */
#include "lv.h"

static bool vf_lv__is_ours(const xmlNode *n)
{
	/* the fleet's fencing record too: written at each placed start, never drift */
	return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       (xmlStrEqual(n->ns->href, VF_XC(VF_METADATA_NS)) ||
		xmlStrEqual(n->ns->href, VF_XC(VF_FENCE_NS)));
}

static bool vf_lv__blank(xmlNode *n)
{
	return n->type == XML_TEXT_NODE && xmlIsBlankNode(n);
}

/* Remove element n and the blank text (its indentation) before it. */
static void vf_lv__remove_indented(xmlNodePtr n)
{
	if (n->prev && vf_lv__blank(n->prev)) {
		xmlNodePtr ws = n->prev;
		xmlUnlinkNode(ws);
		xmlFreeNode(ws);
	}
	xmlUnlinkNode(n);
	xmlFreeNode(n);
}

/* `node` serialised as it stands (no reindenting); caller frees. */
static char *vf_lv__dump_node(xmlDocPtr doc, xmlNodePtr node)
{
	xmlBufferPtr buf = xmlBufferCreate();
	if (!buf)
		abort();
	xmlNodeDump(buf, doc, node, 0, 0);
	char *s = vf_strndup((const char *)xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
	xmlBufferFree(buf);
	return s;
}

char *vf_lv__record_strip_dump(xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!root)
		return NULL;
	for (xmlNodePtr m = root->children, mnext; m; m = mnext) {
		mnext = m->next;
		if (m->type != XML_ELEMENT_NODE || m->ns || !xmlStrEqual(m->name, VF_XC("metadata")))
			continue;
		bool empty = true;
		for (xmlNodePtr n = m->children, next; n; n = next) {
			next = n->next;
			if (vf_lv__is_ours(n)) {
				xmlUnlinkNode(n);
				xmlFreeNode(n);
			} else if (!vf_lv__blank(n)) {
				empty = false;
			}
		}
		/* the indentation libvirt wrote before it goes too, so a
		 * document that never had <metadata> reads the same */
		if (empty)
			vf_lv__remove_indented(m);
	}
	return vf_lv__dump_node(doc, root);
}

/* Inside virtform's element, unqualified children are virtform's too. */
static bool vf_lv__is_inner(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && (!n->ns || vf_lv__is_ours(n)) &&
	       xmlStrEqual(n->name, VF_XC(name));
}

static char *vf_lv__child_text(const xmlNode *parent, const char *name)
{
	for (const xmlNode *n = parent->children; n; n = n->next) {
		if (!vf_lv__is_inner(n, name))
			continue;
		xmlChar *t = xmlNodeGetContent(n);
		char *r = vf_strdup(t ? (const char *)t : "");
		xmlFree(t);
		return r;
	}
	return NULL;
}

void vf_lv__record_bare(xmlDocPtr doc, char **ret_bare, char **ret_digest)
{
	char *bare = vf_lv__record_strip_dump(doc);
	char hex[65] = "";
	if (bare)
		vf_sha256_hex(bare, strlen(bare), hex);
	*ret_digest = bare ? vf_strdup(hex) : NULL;
	*ret_bare = bare;
}

static void vf_lv__record_clear(vf_xml_record *r)
{
	free(r->digest);
	free(r->normalised_digest);
	free(r->manifest);
	free(r->normalised);
	*r = (vf_xml_record){ 0 };
}

bool vf_lv__record_read(const xmlNode *owner, vf_xml_record *out)
{
	for (const xmlNode *a = owner->children; a; a = a->next) {
		if (!vf_lv__is_inner(a, "applied"))
			continue;
		xmlChar *digest = xmlGetProp(a, VF_XC("sha256"));
		xmlChar *norm = xmlGetProp(a, VF_XC("normalised"));
		vf_xml_record r = {
			.digest = vf_strdup((const char *)digest),
			.normalised_digest = vf_strdup((const char *)norm),
		};
		xmlFree(digest);
		xmlFree(norm);
		if (!r.normalised_digest) {
			/* a record from before the texts moved to the state
			 * directory carries them inline: read them, and their
			 * digest is that of the text */
			r.manifest = vf_lv__child_text(a, "manifest");
			r.normalised = vf_lv__child_text(a, "normalised");
			if (r.normalised) {
				char hex[65];
				vf_sha256_hex(r.normalised, strlen(r.normalised), hex);
				r.normalised_digest = vf_strdup(hex);
			}
		}
		/* each digest names a file in the state directory: nothing
		 * but 64 hex digits may pass */
		if (!vf_sha256_hex_valid(r.digest) || !vf_sha256_hex_valid(r.normalised_digest) ||
		    (r.normalised && !r.manifest)) {
			/* half a record is no record: compare as if there were none */
			vf_lv__record_clear(&r);
			return false;
		}
		*out = r;
		return true;
	}
	return false;
}

char *vf_lv__record_owner_xml(const char *name, const char *digest, const char *normalised_digest)
{
	xmlDocPtr doc = xmlNewDoc(VF_XC("1.0"));
	xmlNodePtr owner = xmlNewNode(NULL, VF_XC("owner"));
	if (!doc || !owner)
		abort();
	xmlDocSetRootElement(doc, owner);
	vf_lv__attr(owner, "name", name);
	xmlNodePtr applied = vf_lv__add(owner, "applied", NULL);
	vf_lv__attr(applied, "sha256", digest);
	vf_lv__attr(applied, "normalised", normalised_digest);
	char *s = vf_lv__dump_node(doc, owner);
	xmlFreeDoc(doc);
	return s;
}

int vf_lv__record_domain(virDomainPtr d, const char *name, const char *digest, vf_error *err)
{
	_cleanup_free_ char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	_cleanup_doc_ xmlDocPtr doc = xml ? vf_lv__xml_read(xml) : NULL;
	if (!doc)
		return vf_error_set(err, VF_E_DRIVER,
				    "domain \"%s\" was defined, but its XML could not be read back to record it: %s",
				    name, xml ? vf_lv__xml_last_error() : vf_lv__msg());
	_cleanup_free_ char *bare = NULL, *bare_digest = NULL;
	vf_lv__record_bare(doc, &bare, &bare_digest);
	_cleanup_free_ char *owner = vf_lv__record_owner_xml(name, digest, bare_digest);
	if (!bare || virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, owner, VF_METADATA_PREFIX,
					  VF_METADATA_NS, VIR_DOMAIN_AFFECT_CONFIG) < 0)
		return vf_error_set(err, VF_E_DRIVER,
				    "domain \"%s\" was defined, but recording what libvirt made of spec.xml failed: %s",
				    name, vf_lv__msg());
	return 0;
}

void vf_lv__record_pool_bare(const char *xml, char **ret_bare, char **ret_digest)
{
	static const char *const live[] = { "capacity", "allocation", "available", NULL };
	_cleanup_doc_ xmlDocPtr doc = vf_lv__xml_read(xml);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	*ret_bare = *ret_digest = NULL;
	if (!root)
		return;
	for (xmlNodePtr n = root->children, next; n; n = next) {
		next = n->next;
		bool figure = false;
		for (size_t i = 0; live[i] && n->type == XML_ELEMENT_NODE && !n->ns; i++)
			figure |= xmlStrEqual(n->name, VF_XC(live[i]));
		if (figure)
			vf_lv__remove_indented(n); /* as if it never had it */
	}
	vf_lv__record_bare(doc, ret_bare, ret_digest);
}
