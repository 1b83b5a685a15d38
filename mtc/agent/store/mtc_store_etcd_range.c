/* [agent] store = etcd, a full read on the reader thread: pages of at
 * most PAGE_KEYS keys, all at the first page's revision, so no reply cap
 * (REPLY_MAX) can be hit by a fleet's size or a stray large value under
 * the prefix: a page over it is asked again with fewer keys, and a single
 * key too big is read by name only. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtc_store_etcd.h"

/* One page of a range, every member in turn: 0 and the page parsed. */
static int range_page(etcd_store *s, job *j, int *last_ep, const char *body, mtc_etcd_result *page)
{
	http_buf out = { 0 };
	int r = -ETIMEDOUT;

	snprintf(j->err, sizeof(j->err), "no member answered within %ld ms", TRY_TIMEOUT_MS * s->n_ep);
	for (int i = 0; i < s->n_ep; i++) {
		int ep = (*last_ep + i) % s->n_ep;

		etcd_buf_reset(&out);
		r = etcd_post(s, ep, "/v3/kv/range", body, TRY_TIMEOUT_MS, &out, j->err, sizeof(j->err));
		if (r == -EFBIG)
			break; /* as big on every member */
		if (r == 0) {
			*last_ep = ep;
			r = mtc_etcd_parse_range(out.p, out.n, s->cfg.etcd_prefix, page, j->err, sizeof(j->err));
			break;
		}
	}
	etcd_buf_reset(&out);
	return r;
}

/* page's keys after the ones in all. */
static int append_page(mtc_etcd_result *all, const mtc_etcd_result *page)
{
	mtc_etcd_kv *kv = realloc(all->kv, (all->n + page->n + 1) * sizeof(*kv));

	if (!kv)
		return -ENOMEM;
	if (page->n) /* an empty page's kv is NULL: memcpy may not take it */
		memcpy(kv + all->n, page->kv, page->n * sizeof(*kv));
	all->kv = kv;
	all->n += page->n;
	return 0;
}

/* The next page of a read from key *from at revision rev: a page over
 * REPLY_MAX is asked again with fewer keys, down to one, and a single
 * key too big (a stray value under the prefix) is read by name only (a
 * host's key then counts as a value not understood: unknown). */
static int next_page(etcd_store *s, job *j, int *last_ep, const mtc_etcd_result *prev, int64_t rev, long *limit,
		     mtc_etcd_result *page)
{
	const char *from = prev ? prev->next_key : NULL;
	size_t from_len = prev ? prev->next_key_len : 0;
	bool keys_only = false;
	int r;

	for (;;) {
		char *body = mtc_etcd_range_page_body(s->cfg.etcd_prefix, from, from_len, keys_only ? 1 : *limit, rev,
						      keys_only);

		r = body ? range_page(s, j, last_ep, body, page) : -ENOMEM;
		free(body);
		if (r != -EFBIG || keys_only)
			break;
		if (*limit == 1) {
			keys_only = true;
			j->skipped++;
		}
		*limit = *limit > 8 ? *limit / 8 : 1;
	}
	if (r == 0 && *limit < PAGE_KEYS && !keys_only)
		*limit = *limit * 2 < PAGE_KEYS ? *limit * 2 : PAGE_KEYS;
	return r;
}

/* A full read in pages of at most PAGE_KEYS keys, all at the first
 * page's revision: no reply cap a fleet or a stray key can hit. Any page
 * failing fails the read (nothing of it applied). */
void etcd_run_range(etcd_store *s, job *j, int *last_ep)
{
	mtc_etcd_result prev = { 0 }, page = { 0 };
	long limit = PAGE_KEYS;
	int r = 0;

	for (int n = 0; n < PAGES_MAX && r == 0; n++) {
		r = next_page(s, j, last_ep, n ? &prev : NULL, j->range.revision, &limit, &page);
		if (r == 0 && n == 0) {
			j->range.hdr = page.hdr;
			j->range.revision = page.revision;
		}
		if (r == 0)
			r = append_page(&j->range, &page);
		mtc_etcd_result_free(&prev);
		prev = page;
		page = (mtc_etcd_result){ 0 };
		if (r == 0 && !prev.more)
			break;
	}
	mtc_etcd_result_free(&prev);
	j->r = r;
}

