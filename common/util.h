/* Small helpers shared by every component: time, cleanup, string copy. */
#ifndef HWM_UTIL_H
#define HWM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL
#define MSEC_PER_SEC 1000ULL

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "0.1.0"
#endif

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void freep(void *p)
{
	free(*(void **)p);
}

#define _cleanup_close_ __attribute__((cleanup(closep)))
#define _cleanup_free_ __attribute__((cleanup(freep)))

/* Monotonic clock in milliseconds / microseconds. */
uint64_t util_now_ms(void);
uint64_t util_now_usec(void);

/* Copy src into dst[size]; -ENAMETOOLONG if it does not fit (dst untouched). */
int util_strcpy_bounded(char *dst, size_t size, const char *src);

/* Parse a base-10 integer in [min, max]; -EINVAL / -ERANGE. */
int util_parse_long(const char *s, long min, long max, long *ret);

/* True if path exists (any type). */
bool util_path_exists(const char *path);

/* "regular file", "directory", "FIFO", ... for messages about st_mode. */
const char *util_file_type_name(unsigned mode);

#endif
