/* Configuration described once, as a table: defaults, parsing, validation,
 * --dump-config and the man page all read the same rows. Parsing is inih;
 * this layer adds types, ranges and "file:line: message" errors. */
#ifndef HWM_CONF_H
#define HWM_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { CONF_INT, CONF_BOOL, CONF_STR, CONF_ENUM } conf_type;

typedef struct conf_key {
	const char *section;
	const char *key;
	conf_type type;
	size_t offset;              /* into the config struct */
	size_t size;                /* CONF_STR: buffer size incl. NUL */
	const char *def;            /* default as ini text */
	long min, max;              /* CONF_INT bounds */
	const char *const *choices; /* CONF_ENUM: NULL-terminated; stored as int */
	const char *help;
	unsigned flags;             /* CONF_RESTART */
} conf_key;

/* conf_key.flags: a reload cannot apply the key (a socket, device or store
 * opened once at start); conf_keep_restart_keys() keeps the running value. */
#define CONF_RESTART 1u

/* Errors collected while loading, one "file:line: message" per line. */
typedef struct conf_errors {
	char text[4096];
	unsigned count;
} conf_errors;

typedef struct conf_table conf_table;

/* What a table's check sees besides the config: where each key was set. */
typedef struct conf_origin {
	const conf_table *t;
	const char *name;       /* file name for messages */
	const unsigned *lines;  /* per key: line it was set on, 0 = default */
	conf_errors *errs;
} conf_origin;

/* Cross-key rules and derived fields of one table. Runs once after the
 * whole text was read, also when some lines were bad, so that one pass
 * reports every error. Report with conf_key_error(). */
typedef void (*conf_check_fn)(void *cfg, const conf_origin *o);

struct conf_table {
	const conf_key *keys;
	size_t n;                /* at most CONF_MAX_KEYS */
	conf_check_fn check;     /* optional */
	/* Optional, for daemons only (conf_load_service): the files the config
	 * names, as they are on disk now (conf_check_path). */
	conf_check_fn check_files;
};

#define CONF_MAX_KEYS 64

/* An error about [section] key, at the line that set it (or the file). */
void conf_key_error(const conf_origin *o, const char *section, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* For sections the table does not describe (e.g. "[host NAME]").
 * section_start is true for the first key after a section header, so a
 * repeated header can be told from a continued section; line is the
 * key's line (for messages that point at another one).
 * Return 0, or -errno after writing a message into msg. */
typedef int (*conf_extra_fn)(void *user, const char *section, bool section_start,
			     const char *key, const char *value, unsigned line, char *msg, size_t msglen);

/* Longest accepted line; libinih as packaged by Debian truncates beyond
 * about 200 bytes, so we reject instead of silently cutting values. */
#define CONF_MAX_LINE 196
/* The longest section name inih keeps whole (its MAX_SECTION is 50 with
 * the NUL); a longer one is an error, never cut. */
#define CONF_MAX_SECTION 49

void conf_set_defaults(const conf_table *t, void *cfg);

/* Defaults, then the file, then the table's check. Returns 0, -ENOENT/
 * -EACCES if the file cannot be read, -EINVAL with errs filled if anything
 * was wrong. */
int conf_load_file(const conf_table *t, void *cfg, const char *path,
		   conf_extra_fn extra, void *extra_user, conf_errors *errs);

/* What a daemon loads at start, on SIGHUP and for --check-config:
 * conf_load_file (path NULL: the defaults, name used in messages), then the
 * table's check_files (a FIFO or symlink where a file belongs, a directory
 * others can write to). Their errors go to file_errs when it is not NULL
 * (a daemon that runs says them and goes on: each open refuses the bad
 * file again), else to errs like any other error (--check-config). */
int conf_load_service(const conf_table *t, void *cfg, const char *path, const char *name, conf_errors *errs,
		      conf_errors *file_errs);

/* For a check_files: an error at [section] key unless path (if it exists)
 * is of kinds (FILEOPS_*; 0: any kind), and, when the daemon writes
 * there, the directory is one fileops_check_dir() accepts. Empty path:
 * nothing. */
void conf_check_path(const conf_origin *o, const char *section, const char *key, const char *path, unsigned kinds,
		     bool written);

/* Same, from text; name is used in messages. */
int conf_load_string(const conf_table *t, void *cfg, const char *name,
		     const char *text, conf_extra_fn extra, void *extra_user,
		     conf_errors *errs);

void conf_error(conf_errors *e, const char *file, unsigned line,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Effective values as ini text. */
void conf_dump(const conf_table *t, const void *cfg, FILE *out);

/* One line per key: section, key, type, default, range, help (tab
 * separated); used to build and check the man pages. */
void conf_describe(const conf_table *t, FILE *out);

/* On reload: every CONF_RESTART key of next takes run's value back. Writes
 * the changed ones ("[section] key", space-separated) into changed and
 * returns how many changed; the caller logs that they take effect at
 * restart. */
int conf_keep_restart_keys(const conf_table *t, const void *run, void *next, char *changed, size_t size);

/* Index of (section, key) in the table, or -1. */
int conf_find(const conf_table *t, const char *section, const char *key);

/* Value helpers for ini values. */
int conf_parse_bool(const char *s, bool *ret);

#endif
