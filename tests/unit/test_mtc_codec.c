/* mtc wire codec: round trips, every malformed-input class, HMAC. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "mtc_codec.h"

static mtc_key key_a, key_b;

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	key_a.enabled = key_b.enabled = true;
	memset(key_a.bytes, 0xa5, sizeof(key_a.bytes));
	memset(key_b.bytes, 0x5a, sizeof(key_b.bytes));
	return 0;
}

static mtc_frame sample(uint8_t type)
{
	mtc_frame f = { .type = type, .net = MTC_NET_PXEBOOT, .flags = MTC_FLAG_LOCKED, .boot = 0xdeadbeef,
			.seq = 42, .cmdseq = 0x01020304 };

	for (int i = 0; i < MTC_NONCE_LEN; i++)
		f.nonce[i] = (uint8_t)i;
	strcpy(f.hostname, "controller-0");
	return f;
}

static void test_roundtrip_all_types(void **state)
{
	(void)state;
	for (uint8_t t = MTC_ALIVE; t <= MTC_ACK; t++)
	for (uint8_t net = 0; net < MTC_NET_COUNT; net++)
	for (uint8_t flags = 0; flags <= MTC_FLAGS_KNOWN; flags++) {
		mtc_frame f = sample(t), g;
		uint8_t buf[MTC_FRAME_MAX];
		int n;

		f.net = net;
		f.flags = flags;
		n = mtc_encode(&f, &key_a, buf, sizeof(buf));
		assert_int_equal(n, MTC_HEADER_LEN + 12 + MTC_MAC_LEN);
		assert_int_equal(mtc_decode(buf, (size_t)n, &key_a, &g), 0);
		assert_memory_equal(&f, &g, sizeof(f));
	}
}

/* Version 2 layout: cmdseq big-endian at offset 16, nonce at 20, and the
 * frame still fits MTC_FRAME_MAX with the longest hostname. */
static void test_v2_layout(void **state)
{
	mtc_frame f = sample(MTC_LOCKED);
	uint8_t buf[MTC_FRAME_MAX];

	(void)state;
	assert_int_equal(MTC_FRAME_MAX, 131);
	assert_int_equal(mtc_encode(&f, &key_a, buf, sizeof(buf)), MTC_HEADER_LEN + 12 + MTC_MAC_LEN);
	assert_int_equal(buf[2], 2);
	assert_int_equal(buf[16], 1);
	assert_int_equal(buf[17], 2);
	assert_int_equal(buf[18], 3);
	assert_int_equal(buf[19], 4);
	assert_memory_equal(buf + 20, f.nonce, MTC_NONCE_LEN);
	assert_memory_equal(buf + MTC_HEADER_LEN, "controller-0", 12);
}

static void test_max_hostname(void **state)
{
	mtc_frame f = sample(MTC_ALIVE), g;
	uint8_t buf[MTC_FRAME_MAX];

	(void)state;
	memset(f.hostname, 'h', MTC_HOSTNAME_MAX);
	f.hostname[MTC_HOSTNAME_MAX] = '\0';
	assert_int_equal(mtc_encode(&f, &key_a, buf, sizeof(buf)), MTC_FRAME_MAX);
	assert_int_equal(mtc_decode(buf, MTC_FRAME_MAX, &key_a, &g), 0);
	assert_string_equal(g.hostname, f.hostname);
}

static void test_encode_rejects_bad_fields(void **state)
{
	uint8_t buf[MTC_FRAME_MAX];
	mtc_frame f;

	(void)state;
	f = sample(MTC_ALIVE); f.hostname[0] = '\0';
	assert_int_equal(mtc_encode(&f, &key_a, buf, sizeof(buf)), -EINVAL);
	f = sample(MTC_ALIVE); strcpy(f.hostname, "bad host");
	assert_int_equal(mtc_encode(&f, &key_a, buf, sizeof(buf)), -EINVAL);
	f = sample(MTC_ALIVE); f.type = 9;
	assert_int_equal(mtc_encode(&f, &key_a, buf, sizeof(buf)), -EINVAL);
	f = sample(MTC_ALIVE); f.net = 3;
	assert_int_equal(mtc_encode(&f, &key_a, buf, sizeof(buf)), -EINVAL);
	f = sample(MTC_ALIVE); f.flags = 0x80;
	assert_int_equal(mtc_encode(&f, &key_a, buf, sizeof(buf)), -EINVAL);
	f = sample(MTC_ALIVE);
	assert_int_equal(mtc_encode(&f, &key_a, buf, 10), -ENOBUFS);
}

/* Every truncation length and every single-bit flip is rejected. */
static void test_truncation_and_bitflips(void **state)
{
	mtc_frame f = sample(MTC_LOCKED), g;
	uint8_t buf[MTC_FRAME_MAX], m[MTC_FRAME_MAX];
	int n;

	(void)state;
	n = mtc_encode(&f, &key_a, buf, sizeof(buf));
	for (int len = 0; len < n; len++)
		assert_int_not_equal(mtc_decode(buf, (size_t)len, &key_a, &g), 0);
	for (int i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(m, buf, (size_t)n);
			m[i] ^= (uint8_t)(1u << bit);
			int r = mtc_decode(m, (size_t)n, &key_a, &g);
			if (r == 0)
				fail_msg("bit %d of byte %d flipped was accepted", bit, i);
		}
	}
}

static void test_error_classes(void **state)
{
	mtc_frame f = sample(MTC_ALIVE), g;
	uint8_t buf[MTC_FRAME_MAX + 8], m[sizeof(buf)];
	int n;

	(void)state;
	n = mtc_encode(&f, &key_a, buf, sizeof(buf));
	/* oversized: trailing byte, and larger than any frame */
	memcpy(m, buf, (size_t)n);
	m[n] = 0;
	assert_int_equal(mtc_decode(m, (size_t)n + 1, &key_a, &g), -EMSGSIZE);
	assert_int_equal(mtc_decode(m, MTC_FRAME_MAX + 1, &key_a, &g), -EMSGSIZE);
	/* truncated */
	assert_int_equal(mtc_decode(buf, (size_t)n - 1, &key_a, &g), -EBADMSG);
	assert_int_equal(mtc_decode(buf, 3, &key_a, &g), -EBADMSG);
	/* magic and version */
	memcpy(m, buf, (size_t)n); m[0] = 'X';
	assert_int_equal(mtc_decode(m, (size_t)n, &key_a, &g), -EPROTO);
	memcpy(m, buf, (size_t)n); m[2] = 3;
	assert_int_equal(mtc_decode(m, (size_t)n, &key_a, &g), -EPROTO);
	/* a version-1 frame (no cmdseq field) is dropped, never misread */
	memcpy(m, buf, (size_t)n); m[2] = 1;
	assert_int_equal(mtc_decode(m, (size_t)n, &key_a, &g), -EPROTO);
	/* embedded NUL in the hostname (fuzzer finding): "com\0\0\0\0-12" is not "com" */
	{
		mtc_frame h = sample(MTC_ALIVE);
		uint8_t nb[MTC_FRAME_MAX];
		int hn;

		strcpy(h.hostname, "comXXXX-12");
		hn = mtc_encode(&h, NULL, nb, sizeof(nb));
		memset(nb + MTC_HEADER_LEN + 3, 0, 4);
		assert_int_equal(mtc_decode(nb, (size_t)hn, NULL, &g), -EBADMSG);
	}
	/* hostname length out of range */
	memcpy(m, buf, (size_t)n); m[6] = 0;
	assert_int_equal(mtc_decode(m, (size_t)n, &key_a, &g), -EBADMSG);
	memcpy(m, buf, (size_t)n); m[6] = 200;
	assert_int_equal(mtc_decode(m, (size_t)n, &key_a, &g), -EBADMSG);
	/* forged: signed with another key */
	assert_int_equal(mtc_decode(buf, (size_t)n, &key_b, &g), -EKEYREJECTED);
	/* unsigned frame presented to an authenticating peer */
	n = mtc_encode(&f, NULL, buf, sizeof(buf));
	assert_int_equal(mtc_decode(buf, (size_t)n, &key_a, &g), -EKEYREJECTED);
}

/* A correctly signed frame with bad fields inside is still refused. */
static void test_signed_but_invalid_fields(void **state)
{
	mtc_frame f = sample(MTC_ALIVE), g;
	uint8_t buf[MTC_FRAME_MAX];
	int n;

	(void)state;
	static const struct { int off; uint8_t val; } cases[] = {
		{ 3, 0 }, { 3, 5 }, { 4, 3 }, { 5, 0x04 }, { 7, 1 }, { MTC_HEADER_LEN, ' ' },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = mtc_encode(&f, &key_a, buf, sizeof(buf));
		buf[cases[i].off] = cases[i].val;
		crypto_auth_hmacsha256(buf + n - MTC_MAC_LEN, buf, (size_t)n - MTC_MAC_LEN, key_a.bytes);
		if (mtc_decode(buf, (size_t)n, &key_a, &g) != -EBADMSG)
			fail_msg("case %zu (offset %d = %u) accepted", i, cases[i].off, cases[i].val);
	}
}

static void test_auth_disabled(void **state)
{
	mtc_frame f = sample(MTC_ALIVE), g;
	mtc_key off = { .enabled = false };
	uint8_t buf[MTC_FRAME_MAX];
	int n;

	(void)state;
	n = mtc_encode(&f, &off, buf, sizeof(buf));
	assert_int_equal(mtc_decode(buf, (size_t)n, &off, &g), 0);
	/* A signed frame is not a valid unsigned one: no silent downgrade mix. */
	n = mtc_encode(&f, &key_a, buf, sizeof(buf));
	assert_int_equal(mtc_decode(buf, (size_t)n, &off, &g), -EKEYREJECTED);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(mtc_net_name(MTC_NET_PXEBOOT), "pxeboot");
	assert_int_equal(mtc_net_from_name("cluster"), MTC_NET_CLUSTER);
	assert_int_equal(mtc_net_from_name("oam"), -EINVAL);
	assert_string_equal(mtc_type_name(MTC_LOCKED), "Locked");
	assert_true(mtc_hostname_valid("compute-12.lab_a"));
	assert_false(mtc_hostname_valid("a/b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all_types),
		cmocka_unit_test(test_v2_layout),
		cmocka_unit_test(test_max_hostname),
		cmocka_unit_test(test_encode_rejects_bad_fields),
		cmocka_unit_test(test_truncation_and_bitflips),
		cmocka_unit_test(test_error_classes),
		cmocka_unit_test(test_signed_but_invalid_fields),
		cmocka_unit_test(test_auth_disabled),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests_name("mtc_codec", tests, setup, NULL);
}
