#include "mtc_codec.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

static const uint8_t magic[2] = { 'M', 'T' };

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool mtc_hostname_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > MTC_HOSTNAME_MAX)
		return false;
	for (const char *c = name; *c; c++) {
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			  (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_';
		if (!ok)
			return false;
	}
	return true;
}

static void mac(const uint8_t *buf, size_t len, const mtc_key *key, uint8_t out[MTC_MAC_LEN])
{
	if (!key || !key->enabled) {
		memset(out, 0, MTC_MAC_LEN);
		return;
	}
	crypto_auth_hmacsha256(out, buf, len, key->bytes);
}

int mtc_encode(const mtc_frame *f, const mtc_key *key, uint8_t *buf, size_t size)
{
	size_t hl = strnlen(f->hostname, sizeof(f->hostname));
	size_t len = MTC_HEADER_LEN + hl + MTC_MAC_LEN;

	if (!mtc_hostname_valid(f->hostname) || f->type < MTC_ALIVE || f->type > MTC_ACK ||
	    f->net >= MTC_NET_COUNT || (f->flags & ~MTC_FLAGS_KNOWN))
		return -EINVAL;
	if (size < len)
		return -ENOBUFS;
	buf[0] = magic[0];
	buf[1] = magic[1];
	buf[2] = MTC_VERSION;
	buf[3] = f->type;
	buf[4] = f->net;
	buf[5] = f->flags;
	buf[6] = (uint8_t)hl;
	buf[7] = 0;
	put32(buf + 8, f->boot);
	put32(buf + 12, f->seq);
	put32(buf + 16, f->cmdseq);
	memcpy(buf + 20, f->nonce, MTC_NONCE_LEN);
	memcpy(buf + MTC_HEADER_LEN, f->hostname, hl);
	mac(buf, MTC_HEADER_LEN + hl, key, buf + MTC_HEADER_LEN + hl);
	return (int)len;
}

int mtc_decode(const uint8_t *buf, size_t len, const mtc_key *key, mtc_frame *ret)
{
	uint8_t want[MTC_MAC_LEN];
	mtc_frame f;
	size_t hl;

	if (len > MTC_FRAME_MAX)
		return -EMSGSIZE;
	if (len < MTC_FRAME_MIN)
		return -EBADMSG;
	if (buf[0] != magic[0] || buf[1] != magic[1] || buf[2] != MTC_VERSION)
		return -EPROTO;
	hl = buf[6];
	if (hl == 0 || hl > MTC_HOSTNAME_MAX)
		return -EBADMSG;
	if (len < MTC_HEADER_LEN + hl + MTC_MAC_LEN)
		return -EBADMSG;
	if (len > MTC_HEADER_LEN + hl + MTC_MAC_LEN)
		return -EMSGSIZE;
	/* Authenticate before trusting any field beyond the framing. */
	if (key && key->enabled) {
		if (crypto_auth_hmacsha256_verify(buf + MTC_HEADER_LEN + hl, buf, MTC_HEADER_LEN + hl,
						  key->bytes) != 0)
			return -EKEYREJECTED;
	} else {
		mac(buf, MTC_HEADER_LEN + hl, key, want);
		if (sodium_memcmp(want, buf + MTC_HEADER_LEN + hl, MTC_MAC_LEN) != 0)
			return -EKEYREJECTED;
	}
	memset(&f, 0, sizeof(f));
	f.type = buf[3];
	f.net = buf[4];
	f.flags = buf[5];
	if (f.type < MTC_ALIVE || f.type > MTC_ACK || f.net >= MTC_NET_COUNT ||
	    (f.flags & ~MTC_FLAGS_KNOWN) || buf[7] != 0)
		return -EBADMSG;
	f.boot = get32(buf + 8);
	f.seq = get32(buf + 12);
	f.cmdseq = get32(buf + 16);
	memcpy(f.nonce, buf + 20, MTC_NONCE_LEN);
	memcpy(f.hostname, buf + MTC_HEADER_LEN, hl);
	f.hostname[hl] = '\0';
	/* An embedded NUL would make two byte strings name one host. */
	if (strlen(f.hostname) != hl || !mtc_hostname_valid(f.hostname))
		return -EBADMSG;
	*ret = f;
	return 0;
}

const char *mtc_type_name(unsigned type)
{
	switch (type) {
	case MTC_ALIVE: return "mtcAlive";
	case MTC_LOCKED: return "Locked";
	case MTC_UNLOCKED: return "Unlocked";
	case MTC_ACK: return "Ack";
	default: return "?";
	}
}

static const char *const net_names[MTC_NET_COUNT] = { "pxeboot", "mgmt", "cluster" };

const char *mtc_net_name(unsigned net)
{
	return net < MTC_NET_COUNT ? net_names[net] : "?";
}

int mtc_net_from_name(const char *name)
{
	for (int i = 0; i < MTC_NET_COUNT; i++)
		if (strcmp(name, net_names[i]) == 0)
			return i;
	return -EINVAL;
}
