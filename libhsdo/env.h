/* Private to libhsdo: the one lookup of environment variables. libhsdo never
 * calls getenv: the caller passes the environment (envp, NULL-terminated
 * "NAME=value" entries, as environ), so tests and embedders choose it. A
 * NULL envp is an empty environment; the first entry of a name wins, as
 * with getenv.
 *
 * The rule for a variable set to the empty string follows whoever defines
 * the variable:
 *  - variables of other tools (AWS_*, CONSUL_HTTP_TOKEN*, HOME): empty
 *    counts as unset, as the AWS SDKs read theirs (AWS_REGION= does not
 *    hide AWS_DEFAULT_REGION, AWS_PROFILE= means the default profile) and as
 *    Consul's API client reads its token variables: hsdo_env_get;
 *  - HSDO's own settings (the keys of config.c, AWS_DEFAULT_REGION and
 *    AWS_CA_BUNDLE among them): empty is a value, as in the original,
 *    where any variable that is set replaces the file's value: KEY= sets
 *    the key to "" over the YAML file, and the key's checks then accept it
 *    (no lifecycle hook) or say why not (required): hsdo_env_value. */
#ifndef HSDO_ENV_H
#define HSDO_ENV_H

/* The value of name, or NULL when it is absent or empty. */
const char *hsdo_env_get(char *const *envp, const char *name);
/* The value of name, "" included; NULL only when it is absent. */
const char *hsdo_env_value(char *const *envp, const char *name);

#endif
