#!/usr/bin/env python3
"""Put N keys PREFIX+host-00000.. with value locked|unlocked into etcd
through its HTTP gateway, 128 puts per txn (etcd's --max-txn-ops).

    etcd-fill.py URL PREFIX N

Loopback test beds only (tests/integration/etcd_faults.sh)."""
import base64
import json
import sys
import urllib.request


def b64(s):
    return base64.b64encode(s.encode()).decode()


def main():
    url, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for start in range(0, n, 128):
        ops = [{"request_put": {"key": b64("%shost-%05d" % (prefix, i)),
                                "value": b64("unlocked" if i % 5 else "locked")}}
               for i in range(start, min(start + 128, n))]
        req = urllib.request.Request(url + "/v3/kv/txn", data=json.dumps({"success": ops}).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main()
