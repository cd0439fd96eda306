/* Plain main() for libFuzzer harnesses (after c-ares ares-fuzz.c): replays
 * every file in the directories (or files) named on the command line, each
 * from an exactly-sized heap buffer so ASan sees overreads. A missing
 * regression directory is fine; the first argument (the corpus) must hold
 * at least one input, so a replay can never pass on nothing. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	buf = malloc(len ? (size_t)len : 1);
	if (buf == NULL || (len && fread(buf, 1, (size_t)len, f) != (size_t)len)) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

/* Returns the number of inputs run, or -1 on error. */
static long run_path(const char *path)
{
	struct dirent **ents;
	struct stat st;
	char sub[4096];
	long count = 0;
	int n, i;

	if (stat(path, &st) == -1)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return run_file(path) == 0 ? 1 : -1;
	n = scandir(path, &ents, NULL, alphasort);
	if (n == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.' &&
		    snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name) < (int)sizeof(sub) &&
		    stat(sub, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(sub) != 0) {
				count = -1;
				break;
			}
			count++;
		}
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return count;
}

int main(int argc, char **argv)
{
	long total = 0, c;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR [MORE_DIRS_OR_FILES...]\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		c = run_path(argv[i]);
		if (c < 0)
			return 1;
		if (i == 1 && c == 0) {
			fprintf(stderr, "%s: empty or missing corpus\n", argv[1]);
			return 1;
		}
		total += c;
	}
	printf("replayed %ld inputs\n", total);
	return 0;
}
