/* Crash-safe file updates: a reader sees the old file or the complete new
 * one, never a torn one, and the change survives power loss once the call
 * returns 0. */
#ifndef HWM_FILEOPS_H
#define HWM_FILEOPS_H

#include <stddef.h>
#include <sys/types.h>

/* Write data to path via "<path>.tmp.<pid>": write, fsync, rename, fsync the
 * directory. Creates missing parent directories (mode 0755). */
int fileops_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Remove "<path>.tmp.<pid>" files that fileops_write_atomic left behind
 * when a writer was killed mid-write (path itself is intact: the rename
 * never happened), for pids that no longer exist. Returns how many were
 * removed, or -errno if the directory cannot be read. For a daemon's start. */
int fileops_remove_stale_tmp(const char *path);

/* Remove path and fsync its directory. Absent is success. */
int fileops_remove_atomic(const char *path);

/* Read up to size-1 bytes of a small file, NUL-terminated; returns length. */
int fileops_read_small(const char *path, char *buf, size_t size);

/* mkdir -p with mode for the missing parts. */
int fileops_mkdir_parents(const char *path, mode_t mode);

#endif
