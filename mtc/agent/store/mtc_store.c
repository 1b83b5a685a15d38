#include "mtc_store.h"

const mtc_store_ops *mtc_store_for(const mtc_config *cfg)
{
	switch (cfg->store) {
	case MTC_STORE_ETCD:
		return &mtc_store_etcd_ops;
	case MTC_STORE_FILE:
	default:
		return &mtc_store_file_ops;
	}
}
