/* YAML input limits shared by the config parser and the static source;
 * see yaml_guard.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "hsdo/err.h"
#include "yaml_guard.h"

/* Line of a byte offset, for reader errors that carry no mark. */
static size_t offset_line(const char *buf, size_t len, size_t off)
{
	size_t i, line = 1;

	for (i = 0; i < off && i < len; i++)
		if (buf[i] == '\n')
			line++;
	return line;
}

static int problem(struct hsdo_yaml_problem *pb, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int problem(struct hsdo_yaml_problem *pb, size_t line, const char *fmt, ...)
{
	va_list ap;

	pb->line = line;
	va_start(ap, fmt);
	(void)vsnprintf(pb->msg, sizeof(pb->msg), fmt, ap);
	va_end(ap);
	return -HSDO_EPROTO;
}

int hsdo_yaml_parser_problem(const yaml_parser_t *p, const char *buf, size_t len,
			     struct hsdo_yaml_problem *pb)
{
	const char *what = p->problem ? p->problem : "malformed YAML";

	if (p->error == YAML_MEMORY_ERROR)
		return -HSDO_ENOMEM;
	if (p->error == YAML_READER_ERROR)
		return problem(pb, offset_line(buf, len, p->problem_offset),
			       "syntax error: %s at byte %zu", what, p->problem_offset);
	if (p->context != NULL)
		return problem(pb, p->problem_mark.line + 1, "syntax error: %s (%s on line %zu)",
			       what, p->context, p->context_mark.line + 1);
	return problem(pb, p->problem_mark.line + 1, "syntax error: %s", what);
}

int hsdo_yaml_guard(const char *buf, size_t len, struct hsdo_yaml_problem *pb)
{
	yaml_parser_t p;
	yaml_event_t ev;
	size_t depth = 0, docs = 0, anchors = 0, aliases = 0, line;
	int rc = 0, done = 0;

	if (!yaml_parser_initialize(&p))
		return -HSDO_ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done) {
		const unsigned char *anchor = NULL;

		if (!yaml_parser_parse(&p, &ev)) {
			rc = hsdo_yaml_parser_problem(&p, buf, len, pb);
			break;
		}
		line = ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = problem(pb, line, "syntax error: only one YAML document is allowed");
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			anchor = ev.type == YAML_MAPPING_START_EVENT ? ev.data.mapping_start.anchor
								     : ev.data.sequence_start.anchor;
			if (++depth > HSDO_YAML_DEPTH_MAX)
				rc = problem(pb, line, "nesting deeper than %d levels",
					     HSDO_YAML_DEPTH_MAX);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			break;
		case YAML_ALIAS_EVENT:
			if (++aliases > HSDO_YAML_ANCHORS_MAX)
				rc = problem(pb, line, "more than %d aliases", HSDO_YAML_ANCHORS_MAX);
			break;
		default:
			break;
		}
		if (rc == 0 && anchor != NULL && ++anchors > HSDO_YAML_ANCHORS_MAX)
			rc = problem(pb, line, "more than %d anchors", HSDO_YAML_ANCHORS_MAX);
		yaml_event_delete(&ev);
		if (rc != 0)
			break;
	}
	yaml_parser_delete(&p);
	return rc;
}

const char *hsdo_yaml_node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

bool hsdo_yaml_node_is_null(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return len == 0 || (len == 1 && s[0] == '~') ||
	       (len == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 ||
			     memcmp(s, "NULL", 4) == 0));
}
