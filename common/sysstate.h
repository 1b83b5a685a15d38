/* What systemd says the whole system is doing (Manager.SystemState:
 * "running", "degraded", "stopping", ...), asked over sd-bus. The only
 * file besides notify.c that uses libsystemd's bus; no child processes. */
#ifndef HWM_SYSSTATE_H
#define HWM_SYSSTATE_H

#include <stddef.h>

/* systemd's SystemState into buf. Asks PID 1 on its private socket first
 * (there while systemd runs, even when the D-Bus daemon is already
 * stopped during a shutdown), then the system bus; at most about
 * timeout_ms each. -errno when neither answers (not root, not under
 * systemd, ...). */
int sysstate_get(char *buf, size_t size, unsigned timeout_ms);

#endif
