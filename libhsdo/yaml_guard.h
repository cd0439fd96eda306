/* Private to libhsdo: the limits every YAML input goes through before
 * libyaml builds a document (the configuration, the static instance list).
 * libyaml's scanner is quadratic in flow nesting depth and its loader in
 * the number of anchors, so one event pass bounds both first; it also
 * refuses a second document. Pure: bytes in, a verdict out. */
#ifndef HSDO_YAML_GUARD_H
#define HSDO_YAML_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#define HSDO_YAML_DEPTH_MAX   32    /* nested mappings and sequences */
#define HSDO_YAML_ANCHORS_MAX 1000  /* anchors, and aliases, each */

/* Where and why an input was refused. msg has no "file:line:" prefix. */
struct hsdo_yaml_problem {
	size_t line;                /* 1-based */
	char msg[256];
};

/* Walk buf[0..len) once: 0 when it is within the limits and well-formed,
 * -HSDO_EPROTO with *pb filled otherwise, -HSDO_ENOMEM. */
int hsdo_yaml_guard(const char *buf, size_t len, struct hsdo_yaml_problem *pb);

/* Fill *pb from a parser that failed on buf[0..len) ("syntax error: ...").
 * Returns -HSDO_ENOMEM for libyaml's memory error (pb then untouched),
 * else -HSDO_EPROTO. */
int hsdo_yaml_parser_problem(const yaml_parser_t *p, const char *buf, size_t len,
			     struct hsdo_yaml_problem *pb);

/* "a scalar", "a list", "a mapping" or "nothing", for error messages. */
const char *hsdo_yaml_node_kind(const yaml_node_t *n);
/* A plain empty, "~" or "null" scalar: YAML's null. */
bool hsdo_yaml_node_is_null(const yaml_node_t *n);

#endif
