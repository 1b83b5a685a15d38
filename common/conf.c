#include "conf.h"
#include "fileops.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <string.h>

#include <ini.h>

/* Keys tracked per section run of a section the table does not describe. */
#define CONF_EXTRA_KEYS 16

typedef struct conf_source {
	FILE *f;           /* file source, or */
	const char *text;  /* string source */
	const char *name;
	unsigned line;
	unsigned sections;  /* section headers read so far */
	bool read_error;    /* the file source failed mid-way (EIO, EISDIR) */
	int read_errno;
	bool check_files;   /* run the table's check_files too, */
	conf_errors *file_errs; /* into these, or errs if NULL */
	conf_errors *errs;
} conf_source;

typedef struct conf_ctx {
	const conf_table *t;
	void *cfg;
	conf_extra_fn extra;
	void *extra_user;
	unsigned *key_lines;    /* t->n entries */
	conf_source *src;
	unsigned sections_seen; /* value of src->sections at the last key */
	unsigned *seen_lines;   /* t->n entries: line a key first appeared on */
	/* Keys of the current run of an extra section, for duplicates there. */
	char extra_keys[CONF_EXTRA_KEYS][32];
	unsigned extra_lines[CONF_EXTRA_KEYS];
	unsigned n_extra;
} conf_ctx;

void conf_error(conf_errors *e, const char *file, unsigned line, const char *fmt, ...)
{
	size_t used = strlen(e->text);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->count++;
	if (used >= sizeof(e->text) - 1)
		return;
	if (line)
		snprintf(e->text + used, sizeof(e->text) - used, "%s:%u: %s\n", file, line, msg);
	else
		snprintf(e->text + used, sizeof(e->text) - used, "%s: %s\n", file, msg);
}

void conf_key_error(const conf_origin *o, const char *section, const char *key, const char *fmt, ...)
{
	int i = conf_find(o->t, section, key);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_error(o->errs, o->name, i >= 0 ? o->lines[i] : 0, "%s", msg);
}

int conf_parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

int conf_find(const conf_table *t, const char *section, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->keys[i].section, section) == 0 && strcmp(t->keys[i].key, key) == 0)
			return (int)i;
	return -1;
}

static bool section_known(const conf_table *t, const char *section)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->keys[i].section, section) == 0)
			return true;
	return false;
}

static int conf_store_enum(const conf_key *k, int *field, const char *value, char *msg, size_t msglen)
{
	size_t used;

	for (int i = 0; k->choices[i]; i++) {
		if (strcmp(k->choices[i], value) == 0) {
			*field = i;
			return 0;
		}
	}
	used = (size_t)snprintf(msg, msglen, "[%s] %s = %s: expected one of", k->section, k->key, value);
	for (int i = 0; k->choices[i] && used < msglen; i++)
		used += (size_t)snprintf(msg + used, msglen - used, " %s", k->choices[i]);
	return -EINVAL;
}

/* Store one value; on error write a message (without location) to msg. */
static int conf_store(const conf_key *k, void *cfg, const char *value, char *msg, size_t msglen)
{
	char *field = (char *)cfg + k->offset;
	long v;
	bool b;
	int r;

	switch (k->type) {
	case CONF_INT:
		r = util_parse_long(value, k->min, k->max, &v);
		if (r == -ERANGE) {
			snprintf(msg, msglen, "[%s] %s = %s: must be between %ld and %ld",
				 k->section, k->key, value, k->min, k->max);
			return r;
		}
		if (r < 0) {
			snprintf(msg, msglen, "[%s] %s = %s: not an integer", k->section, k->key, value);
			return r;
		}
		*(int *)field = (int)v;
		return 0;
	case CONF_BOOL:
		if (conf_parse_bool(value, &b) < 0) {
			snprintf(msg, msglen, "[%s] %s = %s: expected 0/1, yes/no, true/false or on/off",
				 k->section, k->key, value);
			return -EINVAL;
		}
		*(bool *)field = b;
		return 0;
	case CONF_STR:
		if (util_strcpy_bounded(field, k->size, value) < 0) {
			snprintf(msg, msglen, "[%s] %s: value too long (max %zu bytes)",
				 k->section, k->key, k->size - 1);
			return -ENAMETOOLONG;
		}
		return 0;
	case CONF_ENUM:
		return conf_store_enum(k, (int *)field, value, msg, msglen);
	}
	return -EINVAL;
}

void conf_set_defaults(const conf_table *t, void *cfg)
{
	char msg[256];

	/* Too many keys or a bad default: programming errors the unit tests
	 * catch (every table is loaded there). */
	if (t->n > CONF_MAX_KEYS)
		abort();
	for (size_t i = 0; i < t->n; i++) {
		int r = conf_store(&t->keys[i], cfg, t->keys[i].def, msg, sizeof(msg));

		if (r < 0)
			abort();
	}
}

/* A key repeated within one run of an extra section (e.g. two "mgmt =" in
 * one [host NAME]); reports it and returns true. */
static bool extra_duplicate(conf_ctx *c, bool section_start, const char *name)
{
	if (section_start)
		c->n_extra = 0;
	for (unsigned k = 0; k < c->n_extra; k++) {
		if (strcmp(c->extra_keys[k], name) == 0) {
			conf_error(c->src->errs, c->src->name, c->src->line,
				   "key '%s' set again in this section (first set on line %u)", name,
				   c->extra_lines[k]);
			return true;
		}
	}
	if (c->n_extra < CONF_EXTRA_KEYS && strlen(name) < sizeof(c->extra_keys[0])) {
		strcpy(c->extra_keys[c->n_extra], name);
		c->extra_lines[c->n_extra++] = c->src->line;
	}
	return false;
}

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	conf_ctx *c = user;
	bool section_start = c->src->sections != c->sections_seen;
	char msg[512];
	int i;

	c->sections_seen = c->src->sections;
	i = conf_find(c->t, section, name);
	if (i >= 0) {
		/* The last of two values silently winning hides typos and
		 * merge accidents: an operator who wrote the key twice meant
		 * one of them, and we cannot know which. */
		if (c->seen_lines[i]) {
			conf_error(c->src->errs, c->src->name, c->src->line,
				   "[%s] %s set again (first set on line %u)", section, name, c->seen_lines[i]);
			return 1;
		}
		c->seen_lines[i] = c->src->line;
		if (conf_store(&c->t->keys[i], c->cfg, value, msg, sizeof(msg)) < 0)
			conf_error(c->src->errs, c->src->name, c->src->line, "%s", msg);
		else
			c->key_lines[i] = c->src->line;
		return 1;
	}
	if (!section_known(c->t, section) && c->extra) {
		if (extra_duplicate(c, section_start, name))
			return 1;
		msg[0] = '\0';
		if (c->extra(c->extra_user, section, section_start, name, value, c->src->line, msg, sizeof(msg)) < 0)
			conf_error(c->src->errs, c->src->name, c->src->line, "%s", msg);
		return 1;
	}
	if (section_known(c->t, section))
		conf_error(c->src->errs, c->src->name, c->src->line,
			   "unknown key '%s' in section [%s]", name, section);
	else
		conf_error(c->src->errs, c->src->name, c->src->line,
			   "unknown section [%s] (key '%s')", section, name);
	return 1;
}

/* Fetch the next raw line from the source into buf (NUL-terminated, newline
 * kept); false at end. Over-long lines are consumed and flagged. */
static bool source_next(conf_source *s, char *buf, size_t size, bool *too_long, int *bad_char)
{
	size_t n = 0;
	int ch;

	*too_long = false;
	*bad_char = -1;
	for (;;) {
		if (s->f) {
			ch = fgetc(s->f);
			if (ch == EOF && ferror(s->f)) {
				s->read_error = true;
				s->read_errno = errno ? errno : EIO;
				return false;
			}
		} else {
			ch = *s->text ? (unsigned char)*s->text : EOF;
			if (ch != EOF)
				s->text++;
		}
		if (ch == EOF) {
			if (n == 0)
				return false;
			break;
		}
		/* A NUL would end the value early (C strings), other control
		 * bytes are invisible in an editor: neither belongs in a config. */
		if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' && *bad_char < 0)
			*bad_char = ch;
		if (n < size - 2)
			buf[n++] = (char)ch;
		else
			*too_long = true;
		if (ch == '\n')
			break;
	}
	buf[n] = '\0';
	return true;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* A section header or a key = value line, each error reported. */
static void check_syntax(conf_source *s, const char *p)
{
	size_t klen;

	if (*p == '[') {
		s->sections++;
		if (!strchr(p, ']'))
			conf_error(s->errs, s->name, s->line, "malformed section header '%s'", p);
		else if (strchr(p, ']') - p - 1 > CONF_MAX_SECTION)
			/* inih would silently cut it (e.g. a long host
			 * name in [host NAME] becoming another name). */
			conf_error(s->errs, s->name, s->line, "section name longer than %d characters: %s",
				   CONF_MAX_SECTION, p);
		return;
	}
	klen = strcspn(p, "=:");
	if (p[klen] == '\0')
		conf_error(s->errs, s->name, s->line, "expected 'key = value', got '%s'", p);
	else if (klen == 0)
		conf_error(s->errs, s->name, s->line, "missing key before '%c'", p[klen]);
}

/* inih reader: counts lines, rejects what inih would truncate or mis-read
 * (indented lines would otherwise become multi-line continuations), and
 * checks syntax so every bad line is reported, not just the first. */
static char *conf_reader(char *str, int num, void *stream)
{
	conf_source *s = stream;
	char raw[CONF_MAX_LINE + 64];
	bool too_long;
	int bad_char;
	char *p;

	if (!source_next(s, raw, sizeof(raw), &too_long, &bad_char))
		return NULL;
	s->line++;
	if (bad_char >= 0) {
		conf_error(s->errs, s->name, s->line, "control character 0x%02x in line", bad_char);
		str[0] = '\n';
		str[1] = '\0';
		return str;
	}
	p = trim(raw);
	if (too_long || strlen(p) > CONF_MAX_LINE || (int)strlen(p) + 2 > num) {
		conf_error(s->errs, s->name, s->line, "line too long (max %d characters)", CONF_MAX_LINE);
		str[0] = '\n';
		str[1] = '\0';
		return str;
	}
	if (*p && *p != '#' && *p != ';')
		check_syntax(s, p);
	{
		size_t len = strlen(p); /* fits: checked above (len + 2 <= num) */

		memcpy(str, p, len);
		memcpy(str + len, "\n", 2);
	}
	return str;
}

static int conf_run(const conf_table *t, void *cfg, conf_source *src, conf_extra_fn extra,
		    void *extra_user)
{
	unsigned lines[CONF_MAX_KEYS] = { 0 };
	unsigned seen[CONF_MAX_KEYS] = { 0 };
	conf_ctx c = { .t = t, .cfg = cfg, .extra = extra, .extra_user = extra_user,
		       .key_lines = lines, .src = src, .seen_lines = seen };
	unsigned before = src->errs->count;
	int r;

	conf_set_defaults(t, cfg);
	r = ini_parse_stream(conf_reader, src, conf_handler, &c);
	if (r > 0 && src->errs->count == before)
		conf_error(src->errs, src->name, (unsigned)r, "syntax error");
	if (src->read_error)
		conf_error(src->errs, src->name, src->line + 1, "read error: %s", strerror(src->read_errno));
	if (t->check) {
		conf_origin o = { t, src->name, lines, src->errs };

		t->check(cfg, &o);
	}
	if (t->check_files && src->check_files) {
		conf_origin o = { t, src->name, lines, src->file_errs ? src->file_errs : src->errs };

		t->check_files(cfg, &o);
	}
	return src->errs->count > before ? -EINVAL : 0;
}

static int load_file(const conf_table *t, void *cfg, conf_source *src, conf_extra_fn extra, void *extra_user)
{
	const char *path = src->name;
	struct stat st;
	int fd, r;

	/* Non-blocking: a FIFO must not hang a daemon at start or on SIGHUP;
	 * only regular files are configs (a directory would read as empty,
	 * i.e. all defaults, e.g. action "log" silently becoming "crashdump").
	 * Symlinks are followed: configs are read only, in root's /etc. */
	r = fileops_open_checked(path, O_RDONLY, 0, FILEOPS_REG | FILEOPS_FOLLOW, &fd);
	if (r == -EMEDIUMTYPE) {
		conf_error(src->errs, path, 0, "not a regular file but a %s",
			   stat(path, &st) == 0 ? util_file_type_name(st.st_mode) : "file of another kind");
		return -EINVAL;
	}
	if (r < 0) {
		conf_error(src->errs, path, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	src->f = fdopen(fd, "r");
	if (!src->f) {
		r = -errno;
		close(fd);
		conf_error(src->errs, path, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	r = conf_run(t, cfg, src, extra, extra_user);
	fclose(src->f);
	return r;
}

int conf_load_file(const conf_table *t, void *cfg, const char *path, conf_extra_fn extra,
		   void *extra_user, conf_errors *errs)
{
	conf_source src = { .name = path, .errs = errs };

	return load_file(t, cfg, &src, extra, extra_user);
}

int conf_load_service(const conf_table *t, void *cfg, const char *path, const char *name, conf_errors *errs,
		      conf_errors *file_errs)
{
	conf_source src = { .name = path ? path : name, .text = path ? NULL : "", .check_files = true,
			    .file_errs = file_errs, .errs = errs };

	return path ? load_file(t, cfg, &src, NULL, NULL) : conf_run(t, cfg, &src, NULL, NULL);
}

void conf_check_path(const conf_origin *o, const char *section, const char *key, const char *path, unsigned kinds,
		     bool written)
{
	char why[256];
	int r;

	if (!path || !path[0])
		return;
	r = kinds ? fileops_check_kind(path, kinds) : 0;
	if (r == 0 && written)
		r = fileops_check_dir(path);
	if (r < 0)
		conf_key_error(o, section, key, "[%s] %s = %s: %s", section, key, path,
			       fileops_strerror(path, kinds, r, why, sizeof(why)));
}

int conf_load_string(const conf_table *t, void *cfg, const char *name, const char *text,
		     conf_extra_fn extra, void *extra_user, conf_errors *errs)
{
	conf_source src = { .text = text, .name = name, .errs = errs };

	return conf_run(t, cfg, &src, extra, extra_user);
}
