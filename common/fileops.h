/* Crash-safe file updates: a reader sees the old file or the complete new
 * one, never a torn one, and the change survives power loss once the call
 * returns 0. And the one way a daemon opens a file it reads or writes:
 * never blocking on a FIFO, never following a planted symlink, refusing
 * what is not the kind of file it expects, and writing only in a directory
 * nobody else can write to. */
#ifndef HWM_FILEOPS_H
#define HWM_FILEOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The kinds of file a path may be (bits). A symlink at the last component
 * is never followed unless FILEOPS_FOLLOW is given (configs only: they are
 * read, never written, and live in root's /etc where links are common). */
#define FILEOPS_REG 0x1u    /* regular file (also /proc and /sys files) */
#define FILEOPS_CHR 0x2u    /* character device (/dev/kmsg, a console) */
#define FILEOPS_FOLLOW 0x4u

/* Errors of the checks below besides the open(2) ones:
 * -EMEDIUMTYPE: not one of the expected kinds (a FIFO, directory, ...);
 * -ELOOP: a symlink (not followed);
 * -EPERM: the directory is writable by group or others, or owned by
 *         someone other than root or us (see fileops_check_dir). */

/* open(path, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode),
 * then fstat: anything not of kinds is closed and refused. O_NONBLOCK
 * stays set: a regular file ignores it, and a character device (a console)
 * that would block fails the write instead of hanging the caller. */
int fileops_open_checked(const char *path, int flags, mode_t mode, unsigned kinds, int *ret_fd);

/* 0 when path is absent or (lstat) one of kinds; -EMEDIUMTYPE, -ELOOP or
 * -errno of lstat otherwise. For --check-config and start. */
int fileops_check_kind(const char *path, unsigned kinds);

/* Is the directory path lives in (or would be created in: its nearest
 * existing ancestor) safe to write in? Not writable by group or others,
 * sticky bit or not (in a sticky /tmp anyone may still create our names
 * first), and owned by root or our euid. 0, -EPERM, or -errno of stat. */
int fileops_check_dir(const char *path);

/* Text for an error r of the calls above on path, naming what is wrong
 * ("is a FIFO, not a regular file", "directory /x is writable by others
 * (mode 1777)"); buf holds it. */
const char *fileops_strerror(const char *path, unsigned kinds, int r, char *buf, size_t size);

/* A flag file is present: a regular file at path (lstat; a symlink, FIFO
 * or directory at the path is not a flag). */
bool fileops_flag_present(const char *path);

/* Write data to path via "<path>.tmp.<pid>": write, fsync, rename, fsync the
 * directory. Creates missing parent directories (mode 0755), then refuses a
 * directory fileops_check_dir() refuses (-EPERM). The temp file is created
 * with O_EXCL|O_NOFOLLOW; anything already at its name (a leftover of a
 * killed writer with our pid, a planted symlink or FIFO) is unlinked (the
 * entry, never what a link points to) and the create retried once. */
int fileops_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Remove "<path>.tmp.<pid>" files that fileops_write_atomic left behind
 * when a writer was killed mid-write (path itself is intact: the rename
 * never happened), for pids that no longer exist. Returns how many were
 * removed, or -errno if the directory cannot be read. For a daemon's start. */
int fileops_remove_stale_tmp(const char *path);

/* Remove path and fsync its directory. Absent is success. */
int fileops_remove_atomic(const char *path);

/* Read up to size-1 bytes of a small regular file, NUL-terminated; returns
 * length. Opened with fileops_open_checked(FILEOPS_REG): a FIFO, symlink or
 * directory at path is refused, never waited on. */
int fileops_read_small(const char *path, char *buf, size_t size);

/* Same, of the given kinds (FILEOPS_*), e.g. a pidfile that may be a link. */
int fileops_read_small_kind(const char *path, unsigned kinds, char *buf, size_t size);

/* mkdir -p with mode for the missing parts. */
int fileops_mkdir_parents(const char *path, mode_t mode);

#endif
