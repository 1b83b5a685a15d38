/* libFuzzer: mtc frame decode + verify, with and without authentication
 * (unauthenticated mode lets the fuzzer reach the field checks). Any frame
 * that decodes must re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtc_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mtc_key on = { .enabled = true, .bytes = { 1, 2, 3 } };
	static const mtc_key off = { .enabled = false };
	uint8_t again[MTC_FRAME_MAX];
	mtc_frame f;

	if (mtc_decode(data, size, &on, &f) == 0) {
		if (mtc_encode(&f, &on, again, sizeof(again)) != (int)size || memcmp(again, data, size) != 0)
			abort();
	}
	if (mtc_decode(data, size, &off, &f) == 0) {
		if (mtc_encode(&f, &off, again, sizeof(again)) != (int)size || memcmp(again, data, size) != 0)
			abort();
	}
	return 0;
}
