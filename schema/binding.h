// The C half of package schema: a thin layer over libxml2 2.9's XML Schema
// API. Everything here runs inside one cgo call, so the thread-local
// libxml2 state it touches (the structured error handler) never leaks to
// another goroutine. See doc.go for why libxml2.
#ifndef VUCELINK_SCHEMA_BINDING_H
#define VUCELINK_SCHEMA_BINDING_H

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

// One message from libxml2: a schema violation, a parse error, or a schema
// compilation error or warning. Strings are malloc'd (free with free).
typedef struct {
	int level;   // xmlErrorLevel: 1 warning, 2 error, 3 fatal
	int domain;  // xmlErrorDomain
	int code;    // xmlParserErrors
	int line;    // of the node, else of the parser's input
	char *path;  // xmlGetNodePath of the node, or NULL
	char *file;  // the document the message is about, or NULL
	char *msg;   // libxml2's message, without the trailing newline
	char *nsmap; // the node's in-scope namespaces: "prefix\turi\n"…, or NULL
} vl_issue;

// Messages collected by one call: at most max kept, total counted.
typedef struct {
	vl_issue *items;
	int n, cap, max;
	int total;
} vl_issues;

enum {
	VL_VALID = 0,
	VL_INVALID = 1,   // schema violations in issues
	VL_MALFORMED = 2, // not well-formed XML; parse errors in issues
	VL_DTD = 3,       // a document type declaration: refused unread
	VL_INTERNAL = -1  // libxml2 failed (out of memory, …)
};

// vl_init initializes libxml2 for threads and installs the external
// entity loader that serves schema documents from Go (and refuses
// everything else). Call once, before anything else.
void vl_init(void);

// vl_schema_parse compiles the schema whose entry document is at url
// (resolved by the Go loader). NULL on failure, with the reasons in out.
xmlSchemaPtr vl_schema_parse(const char *url, vl_issues *out);

// vl_validate parses buf (no network, no DTD, no entity substitution) and
// validates it against schema with a validation context of its own.
int vl_validate(xmlSchemaPtr schema, const char *buf, int len, vl_issues *out);

void vl_issues_free(vl_issues *out);

#endif
