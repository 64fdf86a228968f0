// The C half of package schema (see binding.h).
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "binding.h"
#include "_cgo_export.h"

// Documents are parsed with: no network (and the loader below refuses all
// of it anyway), line numbers past 65535, and — by leaving out
// XML_PARSE_NOENT, XML_PARSE_DTDLOAD, XML_PARSE_DTDATTR and
// XML_PARSE_HUGE — no entity substitution, no external DTD, no defaulted
// attributes and libxml2's default size and depth limits.
#define VL_PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_BIG_LINES)

static char *vl_strdup(const char *s) {
	if (s == NULL) {
		return NULL;
	}
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) {
		n--;
	}
	char *d = malloc(n + 1);
	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

// vl_nsmap lists the namespaces in scope at node, "prefix\turi\n" each, so
// that Go can write {uri}name in messages as prefix:name.
static char *vl_nsmap(xmlNodePtr node) {
	if (node == NULL || node->doc == NULL) {
		return NULL;
	}
	if (node->type == XML_ATTRIBUTE_NODE) {
		node = node->parent;
	}
	if (node == NULL || node->type != XML_ELEMENT_NODE) {
		return NULL;
	}
	xmlNsPtr *list = xmlGetNsList(node->doc, node);
	if (list == NULL) {
		return NULL;
	}
	size_t size = 1;
	for (int i = 0; list[i] != NULL; i++) {
		size += (list[i]->prefix ? strlen((const char *) list[i]->prefix) : 0) +
		        (list[i]->href ? strlen((const char *) list[i]->href) : 0) + 2;
	}
	char *out = malloc(size), *p = out;
	if (out != NULL) {
		for (int i = 0; list[i] != NULL; i++) {
			const char *pre = list[i]->prefix ? (const char *) list[i]->prefix : "";
			const char *href = list[i]->href ? (const char *) list[i]->href : "";
			size_t a = strlen(pre), b = strlen(href);
			memcpy(p, pre, a);
			p += a;
			*p++ = '\t';
			memcpy(p, href, b);
			p += b;
			*p++ = '\n';
		}
		*p = 0;
	}
	xmlFree(list);
	return out;
}

// vl_collect is the structured error handler of every context this file
// creates, and the thread's handler while a call runs.
static void vl_collect(void *data, xmlErrorPtr err) {
	vl_issues *out = data;
	if (out == NULL || err == NULL) {
		return;
	}
	out->total++;
	if (out->n >= out->max) {
		return;
	}
	if (out->n == out->cap) {
		int cap = out->cap ? out->cap * 2 : 8;
		vl_issue *items = realloc(out->items, (size_t) cap * sizeof(vl_issue));
		if (items == NULL) {
			return;
		}
		out->items = items;
		out->cap = cap;
	}
	vl_issue *it = &out->items[out->n++];
	memset(it, 0, sizeof(*it));
	it->level = err->level;
	it->domain = err->domain;
	it->code = err->code;
	it->line = err->line;
	it->msg = vl_strdup(err->message);
	it->file = vl_strdup(err->file);
	xmlNodePtr node = err->node;
	// Only a validation error's node belongs to the document validated; a
	// schema compilation error's node is in the XSD, located by file:line.
	if (node != NULL && err->domain == XML_FROM_SCHEMASV) {
		xmlChar *path = xmlGetNodePath(node);
		it->path = vl_strdup((const char *) path);
		xmlFree(path);
		long line = xmlGetLineNo(node);
		if (line > 0) {
			it->line = (int) line;
		}
		it->nsmap = vl_nsmap(node);
	}
}

// vl_loader replaces libxml2's external entity loader for the whole
// process: schema documents come from Go (the fs.FS given to Load, through
// its catalog), and nothing else is ever read — no file, no URL, no DTD.
static xmlParserInputPtr vl_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
	(void) id;
	char *data = NULL, *resolved = NULL;
	int len = 0;
	if (url == NULL || !vucelinkSchemaLoad((char *) url, &data, &len, &resolved)) {
		return NULL;
	}
	// Copies data (libxml2 2.9 appends it to a buffer of its own).
	xmlParserInputBufferPtr buf = xmlParserInputBufferCreateMem(data, len, XML_CHAR_ENCODING_NONE);
	free(data);
	if (buf == NULL) {
		free(resolved);
		return NULL;
	}
	xmlParserInputPtr in = xmlNewIOInputStream(ctxt, buf, XML_CHAR_ENCODING_NONE);
	if (in == NULL) {
		xmlFreeParserInputBuffer(buf);
		free(resolved);
		return NULL;
	}
	// The document's base URI: relative includes and imports in it
	// resolve against where it really is, not the location asked for.
	in->filename = (const char *) xmlStrdup((const xmlChar *) resolved);
	free(resolved);
	return in;
}

void vl_init(void) {
	xmlInitParser();
	xmlSetExternalEntityLoader(vl_loader);
}

xmlSchemaPtr vl_schema_parse(const char *url, vl_issues *out) {
	xmlSchemaPtr schema = NULL;
	xmlResetLastError();
	// The schema parser reads imported documents with parser contexts of
	// its own, which report to the thread's handler.
	xmlSetStructuredErrorFunc(out, vl_collect);
	xmlSchemaParserCtxtPtr p = xmlSchemaNewParserCtxt(url);
	if (p != NULL) {
		xmlSchemaSetParserStructuredErrors(p, vl_collect, out);
		schema = xmlSchemaParse(p);
		xmlSchemaFreeParserCtxt(p);
	}
	xmlSetStructuredErrorFunc(NULL, NULL);
	return schema;
}

// vl_refuse_dtd is the SAX handler for <!DOCTYPE: called before the
// internal subset is read, it stops the parser there, so no declaration in
// it (entities: billion laughs, external ones: XXE) is ever processed.
static void vl_refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *external, const xmlChar *system) {
	(void) name;
	(void) external;
	(void) system;
	xmlParserCtxtPtr ctxt = ctx;
	ctxt->_private = (void *) 1;
	xmlStopParser(ctxt);
}

int vl_validate(xmlSchemaPtr schema, const char *buf, int len, vl_issues *out) {
	int rc = VL_INTERNAL;
	xmlDocPtr doc = NULL;
	xmlSetStructuredErrorFunc(out, vl_collect);
	xmlParserCtxtPtr p = xmlNewParserCtxt();
	if (p == NULL) {
		goto done;
	}
	p->sax->internalSubset = vl_refuse_dtd;
	doc = xmlCtxtReadMemory(p, buf, len, NULL, NULL, VL_PARSE_OPTIONS);
	if (p->_private == (void *) 1) {
		rc = VL_DTD;
	} else if (doc == NULL || !p->wellFormed || xmlDocGetRootElement(doc) == NULL) {
		rc = VL_MALFORMED;
	} else {
		xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(schema);
		if (v != NULL) {
			xmlSchemaSetValidStructuredErrors(v, vl_collect, out);
			int r = xmlSchemaValidateDoc(v, doc);
			rc = r == 0 ? VL_VALID : (r > 0 ? VL_INVALID : VL_INTERNAL);
			xmlSchemaFreeValidCtxt(v);
		}
	}
	if (doc != NULL) {
		xmlFreeDoc(doc);
	}
	xmlFreeParserCtxt(p);
done:
	xmlSetStructuredErrorFunc(NULL, NULL);
	return rc;
}

void vl_issues_free(vl_issues *out) {
	for (int i = 0; i < out->n; i++) {
		free(out->items[i].path);
		free(out->items[i].file);
		free(out->items[i].msg);
		free(out->items[i].nsmap);
	}
	free(out->items);
	out->items = NULL;
	out->n = out->cap = 0;
}
