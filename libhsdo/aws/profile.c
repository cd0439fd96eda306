/* AWS shared files: every profile's settings, and a profile resolved into
 * a plan (base credentials + a chain of roles), with the SDKs' rules. See
 * profile.h. Pure: bytes in, structs out; values are wiped before free. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/creds.h"
#include "hsdo/err.h"
#include "hsdo/profile.h"

#include "env.h"

#define SECTIONS_MAX  4096
#define PROPS_MAX     16384
#define DURATION_MIN  900
#define DURATION_MAX  43200

enum pfile { PF_CREDENTIALS = 0, PF_CONFIG, PF_COUNT };

/* The settings we read; every other key is skipped. */
enum pkey {
	PK_KEY_ID = 0, PK_SECRET, PK_TOKEN, PK_REGION, PK_ROLE_ARN, PK_SOURCE_PROFILE,
	PK_CREDENTIAL_SOURCE, PK_SESSION_NAME, PK_EXTERNAL_ID, PK_DURATION, PK_MFA_SERIAL,
	PK_WEB_TOKEN_FILE, PK_PROCESS, PK_SSO_START_URL, PK_SSO_SESSION, PK_SSO_ACCOUNT_ID,
	PK_SSO_ROLE_NAME, PK_SSO_REGION, PK_COUNT
};

static const char *const pkey_names[PK_COUNT] = {
	[PK_KEY_ID] = "aws_access_key_id", [PK_SECRET] = "aws_secret_access_key",
	[PK_TOKEN] = "aws_session_token", [PK_REGION] = "region",
	[PK_ROLE_ARN] = "role_arn", [PK_SOURCE_PROFILE] = "source_profile",
	[PK_CREDENTIAL_SOURCE] = "credential_source", [PK_SESSION_NAME] = "role_session_name",
	[PK_EXTERNAL_ID] = "external_id", [PK_DURATION] = "duration_seconds",
	[PK_MFA_SERIAL] = "mfa_serial", [PK_WEB_TOKEN_FILE] = "web_identity_token_file",
	[PK_PROCESS] = "credential_process", [PK_SSO_START_URL] = "sso_start_url",
	[PK_SSO_SESSION] = "sso_session", [PK_SSO_ACCOUNT_ID] = "sso_account_id",
	[PK_SSO_ROLE_NAME] = "sso_role_name", [PK_SSO_REGION] = "sso_region",
};

struct section {
	char *name;             /* the profile it selects */
	enum pfile file;
	unsigned line;
};

struct prop {
	size_t section;
	enum pkey key;
	char *value;            /* owned, wiped */
	unsigned line;
};

struct hsdo_profiles {
	struct section *sec;
	size_t nsec, capsec;
	struct prop *props;
	size_t nprops, capprops;
	char *name[PF_COUNT];
};

static const char *const base_names[HSDO_CREDS_BASE_COUNT] = {
	[HSDO_CREDS_BASE_NONE] = "none", [HSDO_CREDS_BASE_STATIC] = "static",
	[HSDO_CREDS_BASE_PROCESS] = "process", [HSDO_CREDS_BASE_WEB_IDENTITY] = "web-identity",
	[HSDO_CREDS_BASE_ENV] = "environment", [HSDO_CREDS_BASE_IMDS] = "imds",
	[HSDO_CREDS_BASE_ECS] = "ecs",
};

const char *hsdo_creds_base_str(enum hsdo_creds_base b)
{
	if ((unsigned)b >= HSDO_CREDS_BASE_COUNT)
		return "unknown";
	return base_names[b];
}

/* ---- parsing ------------------------------------------------------------------ */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && is_ws(**s))
		(*s)++;
	while (*e > *s && is_ws((*e)[-1]))
		(*e)--;
}

static bool slice_ieq(const char *s, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++) {
		char a = s[i];

		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != lit[i])
			return false;
	}
	return true;
}

void hsdo_profiles_free(struct hsdo_profiles *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nprops; i++)
		hsdo_freezero(p->props[i].value, strlen(p->props[i].value));
	for (i = 0; i < p->nsec; i++)
		hsdo_free(p->sec[i].name);
	hsdo_free(p->props);
	hsdo_free(p->sec);
	hsdo_free(p->name[PF_CREDENTIALS]);
	hsdo_free(p->name[PF_CONFIG]);
	hsdo_free(p);
}

static int grow(void **v, size_t *cap, size_t n, size_t size, size_t max)
{
	void *nv;
	size_t nc;

	if (n < *cap)
		return 0;
	if (n >= max)
		return -HSDO_ETOOBIG;
	nc = *cap ? *cap * 2 : 16;
	if (nc > max)
		nc = max;
	nv = hsdo_reallocarray(*v, nc, size);
	if (nv == NULL)
		return -HSDO_ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

struct parse {
	struct hsdo_profiles *p;
	enum pfile file;
	const char *fname;
	bool in_section, in_profile, had_property;
	size_t cur;             /* current section when in_profile */
};

/* The profile a section header selects: "[name]" in credentials; in config
 * "[profile name]" or "[default]" (other sections are not profiles). */
static bool section_profile(enum pfile f, const char *s, const char *e, const char **ns,
			    const char **ne)
{
	*ns = s;
	*ne = e;
	if (f == PF_CREDENTIALS)
		return true;
	if ((size_t)(e - s) == 7 && memcmp(s, "default", 7) == 0)
		return true;
	if (e - s > 7 && memcmp(s, "profile", 7) == 0 && is_ws(s[7])) {
		*ns = s + 7;
		trim(ns, ne);
		return *ns < *ne;
	}
	return false;
}

static int header(struct parse *st, unsigned line, const char *s, const char *e, char *err,
		  size_t errlen)
{
	const char *close = memchr(s, ']', (size_t)(e - s));
	const char *rest, *ns = s + 1, *ne, *ps, *pe;
	struct hsdo_profiles *p = st->p;
	int rc;

	if (close == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: line %u: section header without ']'",
				   st->fname, line);
	for (rest = close + 1; rest < e && is_ws(*rest); rest++)
		;
	if (rest < e && *rest != '#' && *rest != ';')
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: line %u: text after section header",
				   st->fname, line);
	ne = close;
	trim(&ns, &ne);
	if (ns == ne)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: line %u: empty section name",
				   st->fname, line);
	st->in_section = true;
	st->had_property = false;
	st->in_profile = section_profile(st->file, ns, ne, &ps, &pe);
	if (!st->in_profile)
		return 0;
	if ((size_t)(pe - ps) >= HSDO_PROFILE_NAME_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: line %u: profile name longer than %d",
				   st->fname, line, HSDO_PROFILE_NAME_MAX - 1);
	if ((rc = grow((void **)&p->sec, &p->capsec, p->nsec, sizeof(*p->sec), SECTIONS_MAX)) != 0)
		return hsdo_seterr(err, errlen, rc, "%s: line %u: %s", st->fname, line,
				   rc == -HSDO_ENOMEM ? "out of memory" : "too many sections");
	p->sec[p->nsec].name = hsdo_strndup(ps, (size_t)(pe - ps));
	if (p->sec[p->nsec].name == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	p->sec[p->nsec].file = st->file;
	p->sec[p->nsec].line = line;
	st->cur = p->nsec++;
	return 0;
}

/* Check a value by kind: credentials are printable without blanks (never
 * quoted in a message), a region [a-z0-9-], the rest printable. */
static int check_prop(const struct parse *st, unsigned line, enum pkey k, const char *v,
		      size_t n, char *err, size_t errlen)
{
	char what[96];
	size_t i;

	snprintf(what, sizeof(what), "%s: %s", st->fname, pkey_names[k]);
	if (k == PK_KEY_ID || k == PK_SECRET || k == PK_TOKEN)
		return hsdo_creds_check_value(what, line, v, n, err, errlen);
	if (k == PK_REGION && !hsdo_creds_region_valid(v, n))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "%s: line %u: region must be 1..%d of [a-z0-9-]", st->fname, line,
				   HSDO_CREDS_REGION_MAX - 1);
	if (n > HSDO_CREDS_VALUE_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "%s: line %u: %s longer than %d bytes",
				   st->fname, line, pkey_names[k], HSDO_CREDS_VALUE_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] == 0x7f)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "%s: line %u: %s has a control character", st->fname,
					   line, pkey_names[k]);
	return 0;
}

static int property(struct parse *st, unsigned line, const char *s, const char *e,
		    char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', (size_t)(e - s));
	const char *ks = s, *ke, *vs, *ve = e;
	struct hsdo_profiles *p = st->p;
	struct prop *pr;
	int k, rc;

	if (eq == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: line %u: expected 'key = value'",
				   st->fname, line);
	ke = eq;
	vs = eq + 1;
	trim(&ks, &ke);
	trim(&vs, &ve);
	if (ks == ke)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: line %u: missing key", st->fname,
				   line);
	if (!st->in_section)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: line %u: key outside any section",
				   st->fname, line);
	st->had_property = true;
	if (!st->in_profile)
		return 0;
	for (k = 0; k < PK_COUNT; k++)
		if (slice_ieq(ks, (size_t)(ke - ks), pkey_names[k]))
			break;
	if (k == PK_COUNT || (k == PK_REGION && st->file != PF_CONFIG))
		return 0;
	/* "key =" with nothing: a nested block ("s3 =") or an empty setting */
	if (vs == ve && k != PK_KEY_ID && k != PK_SECRET && k != PK_TOKEN)
		return 0;
	if ((rc = check_prop(st, line, (enum pkey)k, vs, (size_t)(ve - vs), err, errlen)) != 0)
		return rc;
	if ((rc = grow((void **)&p->props, &p->capprops, p->nprops, sizeof(*p->props),
		       PROPS_MAX)) != 0)
		return hsdo_seterr(err, errlen, rc, "%s: line %u: %s", st->fname, line,
				   rc == -HSDO_ENOMEM ? "out of memory" : "too many settings");
	pr = &p->props[p->nprops];
	pr->value = hsdo_strndup(vs, (size_t)(ve - vs));
	if (pr->value == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	pr->section = st->cur;
	pr->key = (enum pkey)k;
	pr->line = line;
	p->nprops++;
	return 0;
}

static int parse_file(struct hsdo_profiles *p, enum pfile f, const char *buf, size_t len,
		      char *err, size_t errlen)
{
	struct parse st = { p, f, p->name[f], false, false, false, 0 };
	const char *q = buf, *end = buf + len;
	unsigned line = 0;
	int rc = 0;

	if (len > HSDO_CREDS_FILE_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "%s: %zu bytes, over %d", st.fname,
				   len, HSDO_CREDS_FILE_MAX);
	while (q < end && rc == 0) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		const char *e = nl != NULL ? nl : end, *s = q;
		bool indented = s < e && is_ws(*s);

		line++;
		q = nl != NULL ? nl + 1 : end;
		if (memchr(s, '\0', (size_t)(e - s)) != NULL)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: line %u: NUL byte",
					   st.fname, line);
		trim(&s, &e);
		if (s == e || *s == '#' || *s == ';')
			continue;
		/* An indented line after a property continues it (nested settings
		 * such as "s3 =\n  max_concurrent_requests = 10"): not ours. */
		if (indented && st.had_property)
			continue;
		if (*s == '[')
			rc = header(&st, line, s, e, err, errlen);
		else
			rc = property(&st, line, s, e, err, errlen);
	}
	return rc;
}

int hsdo_profiles_parse(const char *cred, size_t cred_len, const char *cred_name,
			const char *conf, size_t conf_len, const char *conf_name,
			struct hsdo_profiles **out, char *err, size_t errlen)
{
	struct hsdo_profiles *p;
	int rc = 0;

	if (out == NULL || (cred == NULL && cred_len > 0) || (conf == NULL && conf_len > 0))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "invalid argument");
	*out = NULL;
	p = hsdo_calloc(1, sizeof(*p));
	if (p == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	p->name[PF_CREDENTIALS] = hsdo_strdup(cred_name != NULL ? cred_name : "credentials");
	p->name[PF_CONFIG] = hsdo_strdup(conf_name != NULL ? conf_name : "config");
	if (p->name[PF_CREDENTIALS] == NULL || p->name[PF_CONFIG] == NULL)
		rc = hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	if (rc == 0 && cred != NULL)
		rc = parse_file(p, PF_CREDENTIALS, cred, cred_len, err, errlen);
	if (rc == 0 && conf != NULL)
		rc = parse_file(p, PF_CONFIG, conf, conf_len, err, errlen);
	if (rc != 0) {
		hsdo_profiles_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* ---- lookups ----------------------------------------------------------------- */

bool hsdo_profiles_has(const struct hsdo_profiles *p, const char *profile)
{
	size_t i;

	for (i = 0; p != NULL && profile != NULL && i < p->nsec; i++)
		if (strcmp(p->sec[i].name, profile) == 0)
			return true;
	return false;
}

/* The winning entry for key in profile: the credentials file over the
 * config file, and in one file the last line. */
static const struct prop *lookup(const struct hsdo_profiles *p, const char *profile,
				 enum pkey k)
{
	const struct prop *best = NULL;
	size_t i;

	for (i = 0; i < p->nprops; i++) {
		const struct prop *pr = &p->props[i];
		const struct section *s = &p->sec[pr->section];

		if (pr->key != k || strcmp(s->name, profile) != 0)
			continue;
		if (best == NULL || s->file < p->sec[best->section].file ||
		    (s->file == p->sec[best->section].file && pr->line >= best->line))
			best = pr;
	}
	return best;
}

static void where_of(const struct hsdo_profiles *p, const struct prop *pr, char *where,
		     size_t wherelen)
{
	if (where == NULL || wherelen == 0)
		return;
	if (pr == NULL)
		where[0] = '\0';
	else
		snprintf(where, wherelen, "%s:%u", p->name[p->sec[pr->section].file], pr->line);
}

const char *hsdo_profiles_get(const struct hsdo_profiles *p, const char *profile,
			      const char *key, char *where, size_t wherelen)
{
	const struct prop *pr = NULL;
	int k;

	if (p != NULL && profile != NULL && key != NULL)
		for (k = 0; k < PK_COUNT && pr == NULL; k++)
			if (strcmp(pkey_names[k], key) == 0)
				pr = lookup(p, profile, (enum pkey)k);
	where_of(p, pr, where, wherelen);
	return pr != NULL ? pr->value : NULL;
}

/* ---- resolution ---------------------------------------------------------------- */

static void role_free(struct hsdo_creds_role *r)
{
	hsdo_free(r->role_arn);
	hsdo_free(r->session_name);
	if (r->external_id != NULL)
		hsdo_freezero(r->external_id, strlen(r->external_id));
	memset(r, 0, sizeof(*r));
}

void hsdo_creds_plan_free(struct hsdo_creds_plan *plan)
{
	size_t i;

	if (plan == NULL)
		return;
	hsdo_creds_free(&plan->keys);
	hsdo_free(plan->process);
	hsdo_free(plan->token_file);
	role_free(&plan->web);
	for (i = 0; i < HSDO_PROFILE_ROLES_MAX; i++)
		role_free(&plan->roles[i]);
	memset(plan, 0, sizeof(*plan));
}

static const char *val(const struct hsdo_profiles *p, const char *profile, enum pkey k)
{
	const struct prop *pr = lookup(p, profile, k);

	return pr != NULL ? pr->value : NULL;
}

static int dup_opt(char **dst, const char *v, char *err, size_t errlen)
{
	*dst = NULL;
	if (v != NULL && (*dst = hsdo_strdup(v)) == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	return 0;
}

/* The role, session name, external id and duration of profile. */
static int role_of(const struct hsdo_profiles *p, const char *profile,
		   struct hsdo_creds_role *r, char *err, size_t errlen)
{
	const struct prop *d = lookup(p, profile, PK_DURATION);
	char where[HSDO_PROFILE_WHERE_MAX];
	long n = 0;
	int rc;

	if (d != NULL) {
		const char *s = d->value;

		for (; *s >= '0' && *s <= '9' && n <= DURATION_MAX; s++)
			n = n * 10 + (*s - '0');
		where_of(p, d, where, sizeof(where));
		if (*s != '\0' || n < DURATION_MIN || n > DURATION_MAX)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "%s: profile %s: duration_seconds must be %d..%d",
					   where, profile, DURATION_MIN, DURATION_MAX);
	}
	r->duration_s = (int)n;
	snprintf(r->profile, sizeof(r->profile), "%s", profile);
	if ((rc = dup_opt(&r->role_arn, val(p, profile, PK_ROLE_ARN), err, errlen)) != 0 ||
	    (rc = dup_opt(&r->session_name, val(p, profile, PK_SESSION_NAME), err, errlen)) != 0 ||
	    (rc = dup_opt(&r->external_id, val(p, profile, PK_EXTERNAL_ID), err, errlen)) != 0)
		return rc;
	return 0;
}

/* A profile's own static keys into plan->keys: 1 when it has a pair, 0
 * when it has none, or an error for half a pair. */
static int static_keys(const struct hsdo_profiles *p, const char *profile,
		       struct hsdo_creds_plan *plan, char *err, size_t errlen)
{
	const struct prop *id = lookup(p, profile, PK_KEY_ID), *sk = lookup(p, profile, PK_SECRET);
	const struct prop *tok = lookup(p, profile, PK_TOKEN);
	char where[HSDO_PROFILE_WHERE_MAX];

	if (id == NULL && sk == NULL) {
		if (tok != NULL) {
			where_of(p, tok, where, sizeof(where));
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "%s: profile %s has aws_session_token but no keys", where,
					   profile);
		}
		return 0;
	}
	if (id == NULL || sk == NULL) {
		where_of(p, id != NULL ? id : sk, where, sizeof(where));
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: profile %s has %s but no %s",
				   where, profile, id != NULL ? "aws_access_key_id" :
				   "aws_secret_access_key", id != NULL ? "aws_secret_access_key" :
				   "aws_access_key_id");
	}
	if ((plan->keys.access_key_id = hsdo_strdup(id->value)) == NULL ||
	    (plan->keys.secret_access_key = hsdo_strdup(sk->value)) == NULL ||
	    (tok != NULL && (plan->keys.session_token = hsdo_strdup(tok->value)) == NULL))
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	snprintf(plan->keys.source, sizeof(plan->keys.source), "%s",
		 p->sec[id->section].file == PF_CONFIG ? "config" : "credentials");
	where_of(p, id, plan->where, sizeof(plan->where));
	return 1;
}

static int credential_source(const struct hsdo_profiles *p, const char *profile,
			     const struct prop *cs, struct hsdo_creds_plan *plan, char *err,
			     size_t errlen)
{
	static const struct { const char *name; enum hsdo_creds_base base; } kinds[] = {
		{ "Environment", HSDO_CREDS_BASE_ENV },
		{ "Ec2InstanceMetadata", HSDO_CREDS_BASE_IMDS },
		{ "EcsContainer", HSDO_CREDS_BASE_ECS },
	};
	size_t i;

	where_of(p, cs, plan->where, sizeof(plan->where));
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(cs->value, kinds[i].name) == 0) {
			plan->base = kinds[i].base;
			return 0;
		}
	}
	return hsdo_seterr(err, errlen, -HSDO_EPROTO,
			   "%s: profile %s: credential_source must be Environment, "
			   "Ec2InstanceMetadata or EcsContainer", plan->where, profile);
}

/* Roles are found from the profile asked for down to the base; plan->roles
 * must run the other way. */
static void reverse_roles(struct hsdo_creds_plan *plan)
{
	struct hsdo_creds_role t;
	size_t i;

	for (i = 0; i < plan->nroles / 2; i++) {
		t = plan->roles[i];
		plan->roles[i] = plan->roles[plan->nroles - 1 - i];
		plan->roles[plan->nroles - 1 - i] = t;
	}
}

/* One profile of the chain (top: the one asked for). */
static int resolve_one(const struct hsdo_profiles *p, const char *profile, bool top,
		       const char **visited, size_t nvisited, struct hsdo_creds_plan *plan,
		       char *err, size_t errlen)
{
	const struct prop *arn = lookup(p, profile, PK_ROLE_ARN);
	const struct prop *sp = lookup(p, profile, PK_SOURCE_PROFILE);
	const struct prop *cs = lookup(p, profile, PK_CREDENTIAL_SOURCE);
	const struct prop *wt = lookup(p, profile, PK_WEB_TOKEN_FILE);
	const struct prop *proc = lookup(p, profile, PK_PROCESS);
	const struct prop *mfa = lookup(p, profile, PK_MFA_SERIAL);
	char where[HSDO_PROFILE_WHERE_MAX];
	bool self;
	size_t i;
	int rc;

	/* A source profile's own keys win over its role (the SDKs' rule, which
	 * also lets a profile name itself as its source). */
	if (!top && (rc = static_keys(p, profile, plan, err, errlen)) != 0) {
		if (rc > 0)
			plan->base = HSDO_CREDS_BASE_STATIC;
		return rc < 0 ? rc : 0;
	}
	if (arn != NULL && sp != NULL && cs != NULL) {
		where_of(p, cs, where, sizeof(where));
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "%s: profile %s has both source_profile and credential_source",
				   where, profile);
	}
	if (arn != NULL && (sp != NULL || cs != NULL)) {
		if (mfa != NULL) {
			where_of(p, mfa, where, sizeof(where));
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "%s: profile %s: mfa_serial needs a code typed in, which "
					   "a service cannot do", where, profile);
		}
		if (plan->nroles == HSDO_PROFILE_ROLES_MAX)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "profile %s: more than %d roles in the chain", profile,
					   HSDO_PROFILE_ROLES_MAX);
		if ((rc = role_of(p, profile, &plan->roles[plan->nroles], err, errlen)) != 0)
			return rc;
		plan->nroles++;
		if (cs != NULL)
			return credential_source(p, profile, cs, plan, err, errlen);
		/* a profile may be its own source for its keys (once: a second
		 * visit without keys is a cycle like any other) */
		self = strcmp(sp->value, profile) == 0;
		for (i = 0; i < nvisited && !(self && top); i++)
			if (strcmp(visited[i], sp->value) == 0)
				break;
		if ((self && !top) || (!self && i < nvisited)) {
			where_of(p, sp, where, sizeof(where));
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "%s: profile %s: source_profile %s makes a cycle",
					   where, profile, sp->value);
		}
		if (!hsdo_profiles_has(p, sp->value)) {
			where_of(p, sp, where, sizeof(where));
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "%s: profile %s: source_profile %s: no such profile",
					   where, profile, sp->value);
		}
		visited[nvisited] = sp->value;
		return resolve_one(p, sp->value, false, visited, nvisited + 1, plan, err, errlen);
	}
	if (cs != NULL && arn == NULL)
		return credential_source(p, profile, cs, plan, err, errlen);
	if ((rc = static_keys(p, profile, plan, err, errlen)) != 0) {
		if (rc > 0)
			plan->base = HSDO_CREDS_BASE_STATIC;
		return rc < 0 ? rc : 0;
	}
	if (wt != NULL && arn != NULL) {
		plan->base = HSDO_CREDS_BASE_WEB_IDENTITY;
		where_of(p, wt, plan->where, sizeof(plan->where));
		if ((rc = role_of(p, profile, &plan->web, err, errlen)) != 0)
			return rc;
		return dup_opt(&plan->token_file, wt->value, err, errlen);
	}
	if (proc != NULL) {
		plan->base = HSDO_CREDS_BASE_PROCESS;
		where_of(p, proc, plan->where, sizeof(plan->where));
		return dup_opt(&plan->process, proc->value, err, errlen);
	}
	if (arn != NULL) {
		where_of(p, arn, where, sizeof(where));
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "%s: profile %s: role_arn needs source_profile, credential_source "
				   "or web_identity_token_file", where, profile);
	}
	for (i = PK_SSO_START_URL; i <= PK_SSO_REGION; i++) {
		const struct prop *sso = lookup(p, profile, (enum pkey)i);

		if (sso != NULL) {
			where_of(p, sso, where, sizeof(where));
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "%s: profile %s: IAM Identity Center (SSO) profiles need a "
					   "browser login; give the service a role instead", where,
					   profile);
		}
	}
	if (!top)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "profile %s (a source_profile) has no credentials", profile);
	plan->base = HSDO_CREDS_BASE_NONE;
	return 0;
}

int hsdo_profiles_resolve(const struct hsdo_profiles *p, const char *profile,
			  struct hsdo_creds_plan *plan, char *err, size_t errlen)
{
	const char *visited[HSDO_PROFILE_ROLES_MAX + 2];
	const struct prop *region;
	int rc;

	if (plan == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	memset(plan, 0, sizeof(*plan));
	if (p == NULL || profile == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "invalid argument");
	if (!hsdo_profiles_has(p, profile))
		return hsdo_seterr(err, errlen, -HSDO_ENOTFOUND, "profile %s: in neither %s nor %s",
				   profile, p->name[PF_CREDENTIALS], p->name[PF_CONFIG]);
	snprintf(plan->profile, sizeof(plan->profile), "%s", profile);
	region = lookup(p, profile, PK_REGION);
	if (region != NULL) {
		snprintf(plan->region, sizeof(plan->region), "%s", region->value);
		where_of(p, region, plan->region_where, sizeof(plan->region_where));
	}
	visited[0] = profile;
	rc = resolve_one(p, profile, true, visited, 1, plan, err, errlen);
	if (rc != 0) {
		hsdo_creds_plan_free(plan);
		return rc;
	}
	reverse_roles(plan);
	return 0;
}

int hsdo_creds_plan_from_env(char *const *envp, struct hsdo_creds_plan *plan, char *err,
			     size_t errlen)
{
	const char *file = hsdo_env_get(envp, "AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *arn = hsdo_env_get(envp, "AWS_ROLE_ARN");
	const char *session = hsdo_env_get(envp, "AWS_ROLE_SESSION_NAME");
	int rc;

	if (plan == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	memset(plan, 0, sizeof(*plan));
	if (file == NULL && arn == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOTFOUND, "no web identity in the environment");
	if (file == NULL || arn == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s is set but %s is not",
				   file != NULL ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
				   file != NULL ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
	plan->base = HSDO_CREDS_BASE_WEB_IDENTITY;
	snprintf(plan->where, sizeof(plan->where), "AWS_WEB_IDENTITY_TOKEN_FILE");
	if ((rc = dup_opt(&plan->token_file, file, err, errlen)) != 0 ||
	    (rc = dup_opt(&plan->web.role_arn, arn, err, errlen)) != 0 ||
	    (rc = dup_opt(&plan->web.session_name, session, err, errlen)) != 0) {
		hsdo_creds_plan_free(plan);
		return rc;
	}
	return 0;
}
