/* Environment lookup: see env.h for the rule. */
#include <stddef.h>
#include <string.h>

#include "env.h"

const char *hsdo_env_value(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

const char *hsdo_env_get(char *const *envp, const char *name)
{
	const char *v = hsdo_env_value(envp, name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}
