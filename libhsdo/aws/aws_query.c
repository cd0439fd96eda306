/* AWS Query protocol: DescribeAutoScalingGroups / DescribeInstances /
 * CompleteLifecycleAction and STS AssumeRole(WithWebIdentity) request
 * bodies and reply parsers, and the two error shapes. See aws_query.h. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "hsdo/alloc.h"
#include "hsdo/aws_query.h"
#include "hsdo/creds.h"
#include "hsdo/err.h"
#include "hsdo/url.h"

/* ---- request bodies ------------------------------------------------------------ */

struct wbuf {
	char *out;
	size_t cap;
	size_t len;
	bool over;
};

static void put(struct wbuf *w, const char *s)
{
	size_t l = strlen(s);

	if (w->over || l >= w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->out + w->len, s, l + 1);
	w->len += l;
}

/* Append s percent-encoded the SigV4 way (RFC 3986 unreserved kept). */
static void put_enc(struct wbuf *w, const char *s)
{
	int rc;

	if (w->over)
		return;
	rc = hsdo_url_encode(s, strlen(s), true, w->out + w->len, w->cap - w->len);
	if (rc < 0) {
		w->over = true;
		return;
	}
	w->len += (size_t)rc;
}

static void put_num(struct wbuf *w, size_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%zu", v);
	put(w, num);
}

/* Check the list and the token; each entry 1..maxlen-1 bytes. */
static int check_list(const char *const *v, size_t n, size_t maxn, size_t maxlen,
		      const char *next_token, char *out, size_t outlen, const char *what,
		      char *err, size_t errlen)
{
	size_t i, l;

	if (out == NULL || outlen == 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output buffer");
	out[0] = '\0';
	if (n == 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "empty %s list (the call would list the whole region)", what);
	if (v == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "NULL %s list", what);
	if (n > maxn)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%zu %ss in one call (at most %zu)",
				   n, what, maxn);
	for (i = 0; i < n; i++) {
		if (v[i] == NULL || v[i][0] == '\0')
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s %zu is empty", what, i + 1);
		l = strlen(v[i]);
		if (l >= maxlen)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s %zu is %zu bytes (at most %zu)",
					   what, i + 1, l, maxlen - 1);
	}
	if (next_token != NULL && strlen(next_token) >= HSDO_AWS_TOKEN_LEN)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "NextToken longer than %d bytes",
				   HSDO_AWS_TOKEN_LEN - 1);
	return 0;
}

static int finish(struct wbuf *w, char *err, size_t errlen)
{
	if (w->over) {
		w->out[0] = '\0';
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "request body does not fit in %zu bytes",
				   w->cap);
	}
	return (int)w->len;
}

/* "<prefix>1=v1<prefix>2=v2..." (values encoded), then "&NextToken=..." when
 * there is one: the Query protocol's list and pagination members. */
static void put_list(struct wbuf *w, const char *prefix, const char *const *v, size_t n,
		     const char *next_token)
{
	size_t i;

	for (i = 0; i < n; i++) {
		put(w, prefix);
		put_num(w, i + 1);
		put(w, "=");
		put_enc(w, v[i]);
	}
	if (next_token != NULL && next_token[0] != '\0') {
		put(w, "&NextToken=");
		put_enc(w, next_token);
	}
}

int hsdo_asg_describe_groups_body(const char *const *names, size_t n,
				  const char *next_token, char *out, size_t outlen,
				  char *err, size_t errlen)
{
	struct wbuf w = { out, outlen, 0, false };
	int rc = check_list(names, n, HSDO_ASG_NAMES_MAX, HSDO_GROUP_LEN, next_token, out, outlen,
			    "group name", err, errlen);

	if (rc != 0)
		return rc;
	put(&w, "Action=DescribeAutoScalingGroups&Version=2011-01-01");
	put_list(&w, "&AutoScalingGroupNames.member.", names, n, next_token);
	put(&w, "&MaxRecords=");
	put_num(&w, HSDO_ASG_MAX_RECORDS);
	return finish(&w, err, errlen);
}

int hsdo_ec2_describe_instances_body(const char *const *ids, size_t n,
				     const char *next_token, char *out, size_t outlen,
				     char *err, size_t errlen)
{
	struct wbuf w = { out, outlen, 0, false };
	int rc = check_list(ids, n, HSDO_EC2_IDS_MAX, HSDO_NAME_LEN, next_token, out, outlen,
			    "instance id", err, errlen);

	if (rc != 0)
		return rc;
	put(&w, "Action=DescribeInstances&Version=2016-11-15");
	put_list(&w, "&InstanceId.", ids, n, next_token);
	return finish(&w, err, errlen);
}

int hsdo_asg_complete_lifecycle_body(const char *group, const char *hook, const char *id,
				  char *out, size_t outlen, char *err, size_t errlen)
{
	struct wbuf w = { out, outlen, 0, false };

	if (out == NULL || outlen == 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output buffer");
	out[0] = '\0';
	if (group == NULL || group[0] == '\0' || strlen(group) >= HSDO_GROUP_LEN ||
	    hook == NULL || hook[0] == '\0' || strlen(hook) > 255 ||
	    id == NULL || id[0] == '\0' || strlen(id) > 19)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "CompleteLifecycleAction needs a group (1..255), a hook (1..255) "
				   "and an instance id (1..19)");
	put(&w, "Action=CompleteLifecycleAction&Version=2011-01-01&AutoScalingGroupName=");
	put_enc(&w, group);
	put(&w, "&LifecycleHookName=");
	put_enc(&w, hook);
	put(&w, "&InstanceId=");
	put_enc(&w, id);
	put(&w, "&LifecycleActionResult=CONTINUE");
	return finish(&w, err, errlen);
}

int hsdo_asg_set_instance_health_body(const char *id, bool respect_grace, char *out,
				      size_t outlen, char *err, size_t errlen)
{
	struct wbuf w = { out, outlen, 0, false };

	if (out == NULL || outlen == 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output buffer");
	out[0] = '\0';
	if (id == NULL || id[0] == '\0' || strlen(id) > 19)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "SetInstanceHealth needs an instance id (1..19)");
	put(&w, "Action=SetInstanceHealth&Version=2011-01-01&InstanceId=");
	put_enc(&w, id);
	put(&w, "&HealthStatus=Unhealthy&ShouldRespectGracePeriod=");
	put(&w, respect_grace ? "true" : "false");
	return finish(&w, err, errlen);
}

/* ---- XML helpers ------------------------------------------------------------------ */

static bool is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *)name);
}

static const char *nm(const xmlNode *n)
{
	return (const char *)n->name;
}

/* Parse the whole buffer; no network, no entity expansion, no DTD, nothing
 * printed (libxml2's error channel is silenced; its message goes to err). */
static int doc_read(const char *buf, size_t len, xmlDoc **docp, char *err, size_t errlen)
{
	xmlParserCtxt *ctxt;
	xmlDoc *doc;
	int rc = 0;

	*docp = NULL;
	if (buf == NULL && len > 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "NULL buffer");
	if (len == 0)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "empty document");
	if (len > HSDO_AWS_QUERY_DOC_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "document of %zu bytes (at most %u)",
				   len, HSDO_AWS_QUERY_DOC_MAX);
	ctxt = xmlNewParserCtxt();
	if (ctxt == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[160] = "not well-formed";
		size_t l;

		if (e != NULL && e->message != NULL) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			l = strlen(msg);
			while (l > 0 && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
				msg[--l] = '\0';
		}
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "XML line %d: %s",
				 e != NULL ? e->line : 0, msg);
	} else if (doc->intSubset != NULL || doc->extSubset != NULL) {
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "document has a DTD (not allowed)");
	} else if (xmlDocGetRootElement(doc) == NULL) {
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "no root element");
	}
	xmlFreeParserCtxt(ctxt);
	if (rc != 0) {
		xmlFreeDoc(doc);
		return rc;
	}
	*docp = doc;
	return 0;
}

/* Copy the text content of element n into dst; only text and CDATA are
 * allowed inside (comments skipped). path names n's parent for errors. */
static int node_text(const xmlNode *n, char *dst, size_t dstlen, const char *path,
		     char *err, size_t errlen)
{
	const xmlNode *c;
	size_t used = 0, l;

	for (c = n->children; c != NULL; c = c->next) {
		switch (c->type) {
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			l = c->content != NULL ? strlen((const char *)c->content) : 0;
			if (l >= dstlen - used)
				return hsdo_seterr(err, errlen, -HSDO_ETOOBIG,
						   "%s/%s: value longer than %zu bytes", path, nm(n),
						   dstlen - 1);
			memcpy(dst + used, c->content, l);
			used += l;
			break;
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			break;
		case XML_ELEMENT_NODE:
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "%s/%s: unexpected element <%s> in a value", path, nm(n),
					   nm(c));
		default:
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "%s/%s: unexpected node type %d in a value", path, nm(n),
					   (int)c->type);
		}
	}
	dst[used] = '\0';
	return 0;
}

struct field {
	const char *name;
	char *dst;
	size_t len;
	bool required;
	bool seen;
};

/* Fill each field from the element child of that name; other children are
 * skipped. A field given twice, or a required one missing or empty, fails. */
static int read_fields(const xmlNode *parent, struct field *f, size_t nf, const char *path,
		       char *err, size_t errlen)
{
	const xmlNode *c;
	size_t i;
	int rc;

	for (i = 0; i < nf; i++) {
		f[i].seen = false;
		f[i].dst[0] = '\0';
	}
	for (c = parent->children; c != NULL; c = c->next) {
		for (i = 0; i < nf; i++) {
			if (!is_elem(c, f[i].name))
				continue;
			if (f[i].seen)
				return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: duplicate <%s>",
						   path, f[i].name);
			f[i].seen = true;
			rc = node_text(c, f[i].dst, f[i].len, path, err, errlen);
			if (rc != 0)
				return rc;
		}
	}
	for (i = 0; i < nf; i++) {
		if (f[i].required && !f[i].seen)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: missing <%s>", path,
					   f[i].name);
		if (f[i].required && f[i].dst[0] == '\0')
			return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: empty <%s>", path,
					   f[i].name);
	}
	return 0;
}

/* The element child called name: 0 with *out (NULL if absent and not
 * required), or an error for a duplicate or a missing required one. */
static int child(const xmlNode *parent, const char *name, bool required, const xmlNode **out,
		 const char *path, char *err, size_t errlen)
{
	const xmlNode *c;

	*out = NULL;
	for (c = parent->children; c != NULL; c = c->next) {
		if (!is_elem(c, name))
			continue;
		if (*out != NULL)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: duplicate <%s>", path, name);
		*out = c;
	}
	if (required && *out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: missing <%s>", path, name);
	return 0;
}

/* Next list entry after prev (NULL: first) of a list element: every element
 * child must be called `entry`. Returns 0 and *out (NULL at the end). */
static int next_entry(const xmlNode *list, const xmlNode *prev, const char *entry,
		      const xmlNode **out, const char *path, char *err, size_t errlen)
{
	const xmlNode *c = prev != NULL ? prev->next : list->children;

	*out = NULL;
	for (; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!is_elem(c, entry))
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "%s/%s: unexpected <%s> (expected <%s>)", path, nm(list),
					   nm(c), entry);
		*out = c;
		break;
	}
	return 0;
}

/* Instance ids end up in slot names, stored items and Runtime API commands. */
static int check_id(const char *id, const char *path, const char *field, char *err,
		    size_t errlen)
{
	const unsigned char *p;

	for (p = (const unsigned char *)id; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "%s/%s: byte 0x%02x not allowed in an id", path, field, *p);
	return 0;
}

/* ---- errors ------------------------------------------------------------------------ */

static bool is_error_root(const xmlNode *root)
{
	return is_elem(root, "Response") || is_elem(root, "ErrorResponse");
}

static int read_error(const xmlNode *root, struct hsdo_aws_query_error *out, char *err,
		      size_t errlen)
{
	bool ec2 = is_elem(root, "Response");
	const xmlNode *errors = root, *e;
	char path[64];
	int rc;
	struct field top[] = {
		{ ec2 ? "RequestID" : "RequestId", out->request_id, sizeof(out->request_id), false, false },
	};
	struct field ef[] = {
		{ "Type", out->type, sizeof(out->type), false, false },
		{ "Code", out->code, sizeof(out->code), true, false },
		{ "Message", out->message, sizeof(out->message), false, false },
	};

	rc = read_fields(root, top, 1, nm(root), err, errlen);
	if (rc == 0 && ec2)
		rc = child(root, "Errors", true, &errors, nm(root), err, errlen);
	if (rc != 0)
		return rc;
	snprintf(path, sizeof(path), "%s%s", nm(root), ec2 ? "/Errors" : "");
	/* EC2 may list several errors; the first one tells the story. */
	for (e = errors->children; e != NULL && !is_elem(e, "Error"); e = e->next)
		;
	if (e == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: missing <Error>", path);
	snprintf(path, sizeof(path), "%s%s/Error", nm(root), ec2 ? "/Errors" : "");
	return read_fields(e, ef, 3, path, err, errlen);
}

/* "Code: Message" (control bytes blanked) as the EAWS detail. */
static int aws_error(const struct hsdo_aws_query_error *e, char *err, size_t errlen)
{
	char msg[HSDO_AWS_MESSAGE_LEN];
	size_t i;

	for (i = 0; e->message[i] != '\0'; i++)
		msg[i] = (unsigned char)e->message[i] < 0x20 ? ' ' : e->message[i];
	msg[i] = '\0';
	if (msg[0] == '\0')
		return hsdo_seterr(err, errlen, -HSDO_EAWS, "%s", e->code);
	return hsdo_seterr(err, errlen, -HSDO_EAWS, "%s: %s", e->code, msg);
}

/* root is an error document: always fails, with EAWS when it is readable. */
static int error_doc(const xmlNode *root, char *err, size_t errlen)
{
	struct hsdo_aws_query_error e;
	int rc;

	memset(&e, 0, sizeof(e));
	rc = read_error(root, &e, err, errlen);
	return rc != 0 ? rc : aws_error(&e, err, errlen);
}

int hsdo_aws_query_parse_error(const char *buf, size_t len,
			       struct hsdo_aws_query_error *out, char *err, size_t errlen)
{
	const xmlNode *root;
	xmlDoc *doc;
	int rc;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "NULL output");
	memset(out, 0, sizeof(*out));
	rc = doc_read(buf, len, &doc, err, errlen);
	if (rc != 0)
		return rc;
	root = xmlDocGetRootElement(doc);
	if (!is_error_root(root))
		rc = hsdo_seterr(err, errlen, -HSDO_ENOTFOUND,
				 "<%s> is not an error document", nm(root));
	else
		rc = read_error(root, out, err, errlen);
	xmlFreeDoc(doc);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int hsdo_aws_query_check_error(const char *buf, size_t len, char *err, size_t errlen)
{
	const xmlNode *root;
	xmlDoc *doc;
	int rc;

	rc = doc_read(buf, len, &doc, NULL, 0);
	if (rc == -HSDO_ENOMEM)
		return hsdo_seterr(err, errlen, rc, "out of memory");
	if (rc != 0)
		return 0;
	root = xmlDocGetRootElement(doc);
	rc = is_error_root(root) ? error_doc(root, err, errlen) : 0;
	xmlFreeDoc(doc);
	return rc;
}

/* Read the document and check its root: an error document gives EAWS. */
static int open_reply(const char *buf, size_t len, const char *root_name, xmlDoc **docp,
		      const xmlNode **rootp, char *err, size_t errlen)
{
	int rc = doc_read(buf, len, docp, err, errlen);

	if (rc != 0)
		return rc;
	*rootp = xmlDocGetRootElement(*docp);
	if (is_elem(*rootp, root_name))
		return 0;
	if (is_error_root(*rootp))
		rc = error_doc(*rootp, err, errlen);
	else
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "root element <%s>, expected <%s>",
				 nm(*rootp), root_name);
	xmlFreeDoc(*docp);
	*docp = NULL;
	return rc;
}

/* ---- DescribeAutoScalingGroups ------------------------------------------------ */

void hsdo_asg_groups_free(struct hsdo_asg_groups *g)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->n; i++)
		hsdo_free(g->groups[i].instances);
	hsdo_free(g->groups);
	memset(g, 0, sizeof(*g));
}

static int read_asg_instances(const xmlNode *list, struct hsdo_asg_group *g, size_t *total,
			      const char *gpath, char *err, size_t errlen)
{
	const xmlNode *m = NULL;
	size_t cap = 0;
	char path[160];
	int rc;

	for (;;) {
		struct hsdo_asg_instance *in;

		rc = next_entry(list, m, "member", &m, gpath, err, errlen);
		if (rc != 0 || m == NULL)
			return rc;
		if (*total >= HSDO_AWS_QUERY_INSTANCES_MAX)
			return hsdo_seterr(err, errlen, -HSDO_ETOOBIG,
					   "more than %u instances in one reply",
					   HSDO_AWS_QUERY_INSTANCES_MAX);
		rc = hsdo_grow((void **)&g->instances, &cap, g->ninstances, sizeof(*g->instances),
			       HSDO_AWS_QUERY_INSTANCES_MAX, "instances in one reply", err, errlen);
		if (rc != 0)
			return rc;
		in = &g->instances[g->ninstances];
		snprintf(path, sizeof(path), "%s/Instances/member[%zu]", gpath, g->ninstances + 1);
		{
			struct field f[] = {
				{ "InstanceId", in->id, sizeof(in->id), true, false },
				{ "AvailabilityZone", in->az, sizeof(in->az), true, false },
				{ "LifecycleState", in->lifecycle, sizeof(in->lifecycle), true, false },
				{ "HealthStatus", in->health, sizeof(in->health), true, false },
			};

			rc = read_fields(m, f, 4, path, err, errlen);
		}
		if (rc == 0)
			rc = check_id(in->id, path, "InstanceId", err, errlen);
		if (rc != 0)
			return rc;
		g->ninstances++;
		(*total)++;
	}
}

static int read_asg(const xmlNode *root, struct hsdo_asg_groups *out, char *err, size_t errlen)
{
	const xmlNode *res = NULL, *list = NULL, *meta = NULL, *m = NULL, *insts = NULL;
	size_t cap = 0, total = 0;
	char path[128];
	int rc;
	struct field rf[] = {
		{ "NextToken", out->next_token, sizeof(out->next_token), false, false },
	};
	struct field mf[] = {
		{ "RequestId", out->request_id, sizeof(out->request_id), false, false },
	};

	rc = child(root, "DescribeAutoScalingGroupsResult", true, &res, nm(root), err, errlen);
	if (rc == 0)
		rc = child(root, "ResponseMetadata", false, &meta, nm(root), err, errlen);
	if (rc == 0 && meta != NULL)
		rc = read_fields(meta, mf, 1, "ResponseMetadata", err, errlen);
	if (rc == 0)
		rc = read_fields(res, rf, 1, nm(res), err, errlen);
	if (rc == 0)
		rc = child(res, "AutoScalingGroups", true, &list, nm(res), err, errlen);
	while (rc == 0) {
		struct hsdo_asg_group *g;

		rc = next_entry(list, m, "member", &m, nm(res), err, errlen);
		if (rc != 0 || m == NULL)
			break;
		rc = hsdo_grow((void **)&out->groups, &cap, out->n, sizeof(*out->groups),
			       HSDO_AWS_QUERY_GROUPS_MAX, "groups in one reply", err, errlen);
		if (rc != 0)
			break;
		g = &out->groups[out->n++];
		snprintf(path, sizeof(path), "AutoScalingGroups/member[%zu]", out->n);
		{
			struct field gf[] = {
				{ "AutoScalingGroupName", g->name, sizeof(g->name), true, false },
			};

			rc = read_fields(m, gf, 1, path, err, errlen);
		}
		if (rc == 0)
			rc = child(m, "Instances", false, &insts, path, err, errlen);
		if (rc == 0 && insts != NULL)
			rc = read_asg_instances(insts, g, &total, path, err, errlen);
	}
	return rc;
}

int hsdo_asg_parse_groups(const char *buf, size_t len, struct hsdo_asg_groups *out,
			  char *err, size_t errlen)
{
	const xmlNode *root;
	xmlDoc *doc;
	int rc;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "NULL output");
	memset(out, 0, sizeof(*out));
	rc = open_reply(buf, len, "DescribeAutoScalingGroupsResponse", &doc, &root, err, errlen);
	if (rc != 0)
		return rc;
	rc = read_asg(root, out, err, errlen);
	xmlFreeDoc(doc);
	if (rc != 0)
		hsdo_asg_groups_free(out);
	return rc;
}

/* ---- DescribeInstances ---------------------------------------------------------- */

void hsdo_ec2_instances_free(struct hsdo_ec2_instances *r)
{
	if (r == NULL)
		return;
	hsdo_free(r->instances);
	memset(r, 0, sizeof(*r));
}

static int read_ec2_instance(const xmlNode *it, struct hsdo_ec2_instance *in, const char *path,
			     char *err, size_t errlen)
{
	const xmlNode *st = NULL, *pl = NULL;
	char sub[192];
	int rc;
	struct field f[] = {
		{ "instanceId", in->id, sizeof(in->id), true, false },
		{ "privateIpAddress", in->ip, sizeof(in->ip), false, false },
	};
	struct field sf[] = { { "name", in->state, sizeof(in->state), true, false } };
	struct field pf[] = { { "availabilityZone", in->az, sizeof(in->az), false, false } };

	rc = read_fields(it, f, 2, path, err, errlen);
	if (rc == 0)
		rc = check_id(in->id, path, "instanceId", err, errlen);
	if (rc == 0 && in->ip[0] != '\0' && !hsdo_ip_valid(in->ip))
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO,
				 "%s/privateIpAddress: not an IP address", path);
	if (rc == 0)
		rc = child(it, "instanceState", true, &st, path, err, errlen);
	if (rc == 0) {
		snprintf(sub, sizeof(sub), "%s/instanceState", path);
		rc = read_fields(st, sf, 1, sub, err, errlen);
	}
	if (rc == 0)
		rc = child(it, "placement", false, &pl, path, err, errlen);
	if (rc == 0 && pl != NULL) {
		snprintf(sub, sizeof(sub), "%s/placement", path);
		rc = read_fields(pl, pf, 1, sub, err, errlen);
	}
	return rc;
}

static int read_ec2(const xmlNode *root, struct hsdo_ec2_instances *out, char *err, size_t errlen)
{
	const xmlNode *rset = NULL, *r = NULL, *iset = NULL, *it;
	size_t cap = 0, nres = 0, nit;
	char rpath[96], path[160];
	int rc;
	struct field tf[] = {
		{ "requestId", out->request_id, sizeof(out->request_id), false, false },
		{ "nextToken", out->next_token, sizeof(out->next_token), false, false },
	};

	rc = read_fields(root, tf, 2, nm(root), err, errlen);
	if (rc == 0)
		rc = child(root, "reservationSet", true, &rset, nm(root), err, errlen);
	while (rc == 0) {
		rc = next_entry(rset, r, "item", &r, nm(root), err, errlen);
		if (rc != 0 || r == NULL)
			break;
		snprintf(rpath, sizeof(rpath), "reservationSet/item[%zu]", ++nres);
		rc = child(r, "instancesSet", true, &iset, rpath, err, errlen);
		for (it = NULL, nit = 0; rc == 0;) {
			rc = next_entry(iset, it, "item", &it, rpath, err, errlen);
			if (rc != 0 || it == NULL)
				break;
			rc = hsdo_grow((void **)&out->instances, &cap, out->n,
				       sizeof(*out->instances), HSDO_AWS_QUERY_INSTANCES_MAX,
				       "instances in one reply", err, errlen);
			if (rc != 0)
				break;
			snprintf(path, sizeof(path), "%s/instancesSet/item[%zu]", rpath, ++nit);
			rc = read_ec2_instance(it, &out->instances[out->n], path, err, errlen);
			if (rc == 0)
				out->n++;
		}
	}
	return rc;
}

int hsdo_ec2_parse_instances(const char *buf, size_t len, struct hsdo_ec2_instances *out,
			     char *err, size_t errlen)
{
	const xmlNode *root;
	xmlDoc *doc;
	int rc;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "NULL output");
	memset(out, 0, sizeof(*out));
	rc = open_reply(buf, len, "DescribeInstancesResponse", &doc, &root, err, errlen);
	if (rc != 0)
		return rc;
	rc = read_ec2(root, out, err, errlen);
	xmlFreeDoc(doc);
	if (rc != 0)
		hsdo_ec2_instances_free(out);
	return rc;
}

/* ---- STS ----------------------------------------------------------------------------- */

static bool session_ok(const char *s)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (n < 2 || n > HSDO_STS_SESSION_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("+=,.@_-", s[i]) != NULL))
			return false;
	return true;
}

static bool printable(const char *s, size_t lo, size_t hi)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (n < lo || n > hi)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static int sts_head(struct wbuf *w, const char *action, const char *role_arn,
		    const char *session, char *err, size_t errlen)
{
	if (w->out == NULL || w->cap == 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output buffer");
	w->out[0] = '\0';
	if (!printable(role_arn, 20, HSDO_STS_ROLE_ARN_MAX))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s: the role ARN must be 20..%d "
				   "printable bytes", action, HSDO_STS_ROLE_ARN_MAX);
	if (!session_ok(session))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s: the session name must be 2..%d "
				   "of [A-Za-z0-9+=,.@_-]", action, HSDO_STS_SESSION_MAX);
	put(w, "Action=");
	put(w, action);
	put(w, "&Version=2011-06-15&RoleArn=");
	put_enc(w, role_arn);
	put(w, "&RoleSessionName=");
	put_enc(w, session);
	return 0;
}

int hsdo_sts_assume_role_body(const char *role_arn, const char *session,
			      const char *external_id, int duration_s, char *out,
			      size_t outlen, char *err, size_t errlen)
{
	struct wbuf w = { out, outlen, 0, false };
	int rc = sts_head(&w, "AssumeRole", role_arn, session, err, errlen);

	if (rc != 0)
		return rc;
	if (external_id != NULL && !printable(external_id, 2, 1224)) {
		out[0] = '\0';
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "AssumeRole: external_id must be 2..1224 printable bytes");
	}
	if (duration_s != 0 && (duration_s < 900 || duration_s > 43200)) {
		out[0] = '\0';
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "AssumeRole: duration must be 900..43200 seconds");
	}
	if (duration_s != 0) {
		put(&w, "&DurationSeconds=");
		put_num(&w, (size_t)duration_s);
	}
	if (external_id != NULL) {
		put(&w, "&ExternalId=");
		put_enc(&w, external_id);
	}
	return finish(&w, err, errlen);
}

int hsdo_sts_web_identity_body(const char *role_arn, const char *session, const char *token,
			       char *out, size_t outlen, char *err, size_t errlen)
{
	struct wbuf w = { out, outlen, 0, false };
	int rc = sts_head(&w, "AssumeRoleWithWebIdentity", role_arn, session, err, errlen);

	if (rc != 0)
		return rc;
	if (!printable(token, 4, HSDO_STS_TOKEN_MAX)) {
		out[0] = '\0';
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "AssumeRoleWithWebIdentity: the token "
				   "must be 4..%d printable bytes", HSDO_STS_TOKEN_MAX);
	}
	put(&w, "&WebIdentityToken=");
	put_enc(&w, token);
	return finish(&w, err, errlen);
}

/* libxml2 frees without wiping: clear every text the document holds. */
static void wipe_tree(xmlNode *n)
{
	for (; n != NULL; n = n->next) {
		if (n->content != NULL)
			explicit_bzero(n->content, strlen((const char *)n->content));
		wipe_tree(n->children);
	}
}

int hsdo_sts_parse_credentials(const char *buf, size_t len, bool web_identity,
			       struct hsdo_creds *out, char *err, size_t errlen)
{
	const char *root_name = web_identity ? "AssumeRoleWithWebIdentityResponse" :
				"AssumeRoleResponse";
	const char *result_name = web_identity ? "AssumeRoleWithWebIdentityResult" :
				  "AssumeRoleResult";
	const xmlNode *root, *result, *cr;
	char id[256], expiration[64], path[96];
	char *secret = NULL, *token = NULL;
	xmlDoc *doc;
	int rc;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "NULL output");
	memset(out, 0, sizeof(*out));
	rc = open_reply(buf, len, root_name, &doc, &root, err, errlen);
	if (rc != 0)
		return rc;
	secret = hsdo_malloc(HSDO_CREDS_VALUE_MAX + 1);
	token = hsdo_malloc(HSDO_CREDS_VALUE_MAX + 1);
	if (secret == NULL || token == NULL) {
		rc = hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", root_name, result_name);
	rc = child(root, result_name, true, &result, root_name, err, errlen);
	if (rc == 0)
		rc = child(result, "Credentials", true, &cr, path, err, errlen);
	if (rc == 0) {
		struct field f[] = {
			{ "AccessKeyId", id, sizeof(id), true, false },
			{ "SecretAccessKey", secret, HSDO_CREDS_VALUE_MAX + 1, true, false },
			{ "SessionToken", token, HSDO_CREDS_VALUE_MAX + 1, true, false },
			{ "Expiration", expiration, sizeof(expiration), true, false },
		};

		snprintf(path, sizeof(path), "%s/%s/Credentials", root_name, result_name);
		rc = read_fields(cr, f, 4, path, err, errlen);
	}
	if (rc == 0)
		rc = hsdo_creds_from_strings(id, secret, token, expiration, "sts", out, err, errlen);
out:
	if (secret != NULL)
		hsdo_freezero(secret, HSDO_CREDS_VALUE_MAX + 1);
	if (token != NULL)
		hsdo_freezero(token, HSDO_CREDS_VALUE_MAX + 1);
	wipe_tree(xmlDocGetRootElement(doc));
	xmlFreeDoc(doc);
	return rc;
}
