/* Codec throughput on one core: frames encoded+signed and decoded+verified
 * per second (HMAC-SHA256, 63-byte worst-case hostname and a typical one).
 * Usage: bench_codec [seconds] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mtc_codec.h"
#include "util.h"

static double run(const char *host, double secs, int decode, unsigned long *ret_n)
{
	mtc_key key = { .enabled = true };
	mtc_frame f = { .type = MTC_ALIVE, .net = MTC_NET_MGMT, .flags = MTC_FLAG_CONFIGURED, .boot = 7 };
	uint8_t buf[MTC_FRAME_MAX];
	uint64_t t0 = util_now_usec(), end = t0 + (uint64_t)(secs * 1e6), t;
	unsigned long n = 0;
	int len;

	randombytes_buf(key.bytes, sizeof(key.bytes));
	strcpy(f.hostname, host);
	len = mtc_encode(&f, &key, buf, sizeof(buf));
	do {
		for (int i = 0; i < 4096; i++) {
			mtc_frame g;

			if (decode) {
				if (mtc_decode(buf, (size_t)len, &key, &g) != 0)
					abort();
			} else {
				f.seq++;
				if (mtc_encode(&f, &key, buf, sizeof(buf)) != len)
					abort();
			}
		}
		n += 4096;
		t = util_now_usec();
	} while (t < end);
	*ret_n = n;
	return (double)n / ((double)(t - t0) / 1e6);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	char longhost[MTC_HOSTNAME_MAX + 1];
	unsigned long n;
	double enc, dec, dec_long;

	if (sodium_init() < 0)
		return 1;
	memset(longhost, 'h', MTC_HOSTNAME_MAX);
	longhost[MTC_HOSTNAME_MAX] = '\0';
	enc = run("compute-12", secs, 0, &n);
	printf("codec: encode+sign   (10-char host): %9.0f frames/s (%lu frames)\n", enc, n);
	dec = run("compute-12", secs, 1, &n);
	printf("codec: decode+verify (10-char host): %9.0f frames/s (%lu frames)\n", dec, n);
	dec_long = run(longhost, secs, 1, &n);
	printf("codec: decode+verify (63-char host): %9.0f frames/s (%lu frames)\n", dec_long, n);
	printf("summary: codec decode+verify %.0f frames/s (target >= 500000): %s\n", dec,
	       dec >= 500000 ? "met" : "NOT met");
	return 0;
}
