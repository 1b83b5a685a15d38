/* mtc wire frames: encode and decode+verify. Pure, no I/O.
 * Layout and rules are documented in docs/protocol.md. */
#ifndef MTC_CODEC_H
#define MTC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MTC_VERSION 2
#define MTC_HEADER_LEN 36
#define MTC_MAC_LEN 32
#define MTC_KEY_LEN 32
#define MTC_NONCE_LEN 16
#define MTC_HOSTNAME_MAX 63
#define MTC_FRAME_MAX (MTC_HEADER_LEN + MTC_HOSTNAME_MAX + MTC_MAC_LEN) /* 131 */
#define MTC_FRAME_MIN (MTC_HEADER_LEN + 1 + MTC_MAC_LEN)

typedef enum mtc_type {
	MTC_ALIVE = 1,    /* client -> agent, every alive_period, fresh nonce */
	MTC_LOCKED = 2,   /* agent -> client, echoes a recent client nonce */
	MTC_UNLOCKED = 3, /* agent -> client, echoes a recent client nonce */
	MTC_ACK = 4,      /* client -> agent, echoes the command's nonce */
} mtc_type;

typedef enum mtc_net_id { MTC_NET_PXEBOOT = 0, MTC_NET_MGMT = 1, MTC_NET_CLUSTER = 2, MTC_NET_COUNT = 3 } mtc_net_id;

#define MTC_FLAG_CONFIGURED 0x01
#define MTC_FLAG_LOCKED 0x02
#define MTC_FLAGS_KNOWN (MTC_FLAG_CONFIGURED | MTC_FLAG_LOCKED)

typedef struct mtc_frame {
	uint8_t type;    /* mtc_type */
	uint8_t net;     /* mtc_net_id the frame was sent on */
	uint8_t flags;   /* MTC_FLAG_* (ALIVE, ACK) */
	uint32_t boot;   /* sender's start id: the client's persisted boot counter */
	uint32_t seq;    /* sender's frame counter within one boot */
	uint32_t cmdseq; /* Locked/Unlocked: the agent's per-host command sequence;
			  * mtcAlive: the last one the client applied; Ack: the acked one's */
	uint8_t nonce[MTC_NONCE_LEN];
	char hostname[MTC_HOSTNAME_MAX + 1]; /* the client the frame is from or for */
} mtc_frame;

/* key NULL: authentication disabled (MAC field zero, not checked). */
typedef struct mtc_key {
	bool enabled;
	uint8_t bytes[MTC_KEY_LEN];
} mtc_key;

/* Encode f into buf[MTC_FRAME_MAX]; returns the frame length or -EINVAL
 * for a bad field (hostname empty, too long or with bad characters). */
int mtc_encode(const mtc_frame *f, const mtc_key *key, uint8_t *buf, size_t size);

/* Decode and verify. Errors (each counted separately by the daemons):
 *   -EMSGSIZE  longer than MTC_FRAME_MAX or than the header says
 *   -EBADMSG   truncated, or a field out of range
 *   -EPROTO    bad magic or unknown version
 *   -EKEYREJECTED  MAC does not verify */
int mtc_decode(const uint8_t *buf, size_t len, const mtc_key *key, mtc_frame *ret);

bool mtc_hostname_valid(const char *name);
const char *mtc_type_name(unsigned type);
const char *mtc_net_name(unsigned net);
int mtc_net_from_name(const char *name);

#endif
