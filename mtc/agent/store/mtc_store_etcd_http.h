/* The etcd store's transport, inside: what mtc_store_etcd_http.c (one
 * request) lends mtc_store_etcd_stream.c (the watch stream). libcurl's
 * users are these two files alone. */
#ifndef MTC_STORE_ETCD_HTTP_H
#define MTC_STORE_ETCD_HTTP_H

#include <curl/curl.h>

#include "mtc_store_etcd.h"

/* A handle for path on member ep (timeout 0: none), errbuf its
 * CURL_ERROR_SIZE error buffer; NULL: no memory. */
CURL *etcd_easy_new(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, char *errbuf);
/* Why a transfer on c failed, in words, before c is cleaned up. */
void etcd_curl_why(const etcd_store *s, CURL *c, CURLcode cr, const char *errbuf, char *buf, size_t size);
/* Every request's headers (hasleader, the token); NULL: no memory. */
struct curl_slist *request_headers(const char *token);
/* The headers wiped and freed. */
void headers_free(struct curl_slist *hdr);
/* The token to send on member ep ("": none), authenticating first if
 * this thread is the one to: 0, or -errno and err. */
int token_ready(etcd_store *s, int ep, long timeout_ms, char *token, size_t size, char *err, size_t errlen);

#endif
