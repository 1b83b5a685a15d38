/* libFuzzer: the ini loaders (hostwd.conf, mtc.conf, hosts.conf,
 * pmon-hook.conf): text in, config or error out, never a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hwd_config.h"
#include "mtc_config.h"
#include "pmh_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	conf_errors e;
	hwd_config h;
	mtc_config m;
	mtc_host_list l;
	pmh_config p;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&e, 0, sizeof(e));
	hwd_config_load_string(&h, text, &e);
	memset(&e, 0, sizeof(e));
	mtc_config_load_string(&m, text, &e);
	memset(&e, 0, sizeof(e));
	if (mtc_hosts_load_string(&l, text, &e) == 0)
		mtc_hosts_free(&l);
	memset(&e, 0, sizeof(e));
	pmh_config_load_string(&p, text, &e);
	free(text);
	return 0;
}
