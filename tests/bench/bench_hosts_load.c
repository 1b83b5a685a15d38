/* Hosts-file load time (issue 20 item 14): writes a hosts file of N hosts
 * (three addresses each, as a real fleet's) and times mtc_hosts_load(),
 * which mtcagent and `mtcagent --check-config` run at start and on every
 * SIGHUP.
 *
 *   bench_hosts_load DIR N...    one line per N: "hosts_load N MS" */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mtc_config.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int write_hosts(const char *path, long n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	for (long i = 0; i < n; i++)
		fprintf(f, "[host node-%06ld]\npxeboot = 10.%ld.%ld.%ld\nmgmt = 11.%ld.%ld.%ld\ncluster = 12.%ld.%ld.%ld\n",
			i, i / 62500, i / 250 % 250, i % 250 + 1, i / 62500, i / 250 % 250, i % 250 + 1, i / 62500,
			i / 250 % 250, i % 250 + 1);
	return fclose(f);
}

int main(int argc, char **argv)
{
	char path[512];

	if (argc < 3) {
		fprintf(stderr, "usage: %s DIR N...\n", argv[0]);
		return 2;
	}
	for (int a = 2; a < argc; a++) {
		long n = atol(argv[a]);
		mtc_host_list l;
		conf_errors e = { 0 };
		double t0;
		int r;

		snprintf(path, sizeof(path), "%s/hosts-%ld.conf", argv[1], n);
		if (n <= 0 || write_hosts(path, n) < 0) {
			fprintf(stderr, "cannot write %s\n", path);
			return 1;
		}
		t0 = now_ms();
		r = mtc_hosts_load(&l, path, &e);
		printf("hosts_load %ld %.1f\n", n, now_ms() - t0);
		if (r < 0 || l.n != (size_t)n) {
			fprintf(stderr, "load failed: %s", e.text);
			return 1;
		}
		mtc_hosts_free(&l);
		remove(path);
	}
	return 0;
}
