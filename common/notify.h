/* The service-manager notify protocol. The only file that calls sd_notify;
 * everything is a no-op when NOTIFY_SOCKET is unset. */
#ifndef HWM_NOTIFY_H
#define HWM_NOTIFY_H

#include <stdint.h>

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Watchdog interval the manager expects pings within, 0 if none. */
uint64_t notify_watchdog_usec(void);

#endif
