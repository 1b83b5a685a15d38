/* The watchdog device behind a small ops table: the kernel ioctl API for a
 * character device, one byte per kick for "file:PATH" (the test fake), or
 * nothing when no device is configured. */
#ifndef HWD_DEVICE_H
#define HWD_DEVICE_H

typedef struct hwd_device hwd_device;

typedef enum hwd_device_kind {
	HWD_DEV_NONE,
	HWD_DEV_KERNEL,
	HWD_DEV_FILE,
} hwd_device_kind;

#define HWD_DEVICE_FAKE_PREFIX "file:"

/* Open path and arm it with timeout_s. path is "" (no device), "file:PATH"
 * (the test fake: a regular file or FIFO, created if missing), or a
 * character device using the kernel watchdog ioctl API; anything else is
 * an error: -ENOENT (missing), -ENODEV (exists but is not a character
 * device, or a fake that is neither a regular file nor a FIFO), -EINVAL
 * ("file:" with no path). For a kernel device, *ret_timeout_s is what the
 * driver accepted (may differ). */
int hwd_device_open(const char *path, int timeout_s, hwd_device **ret, int *ret_timeout_s);

int hwd_device_kick(hwd_device *d);

/* Change the timeout of an open device (SIGHUP reload). */
int hwd_device_set_timeout(hwd_device *d, int timeout_s, int *ret_timeout_s);

/* Right before a crashdump: set timeout_s (read back into *ret_timeout_s)
 * and kick once, so the card gives the crash kernel that long from now.
 * The file fake records it as a line "T<seconds>" followed by the kick
 * byte; no device: nothing (*ret_timeout_s = timeout_s). */
int hwd_device_prepare_crashdump(hwd_device *d, int timeout_s, int *ret_timeout_s);

/* Close. disarm = write the magic 'V' first (clean stop only). */
void hwd_device_close(hwd_device *d, int disarm);

hwd_device_kind hwd_device_get_kind(const hwd_device *d);
const char *hwd_device_kind_name(hwd_device_kind k);

#endif
