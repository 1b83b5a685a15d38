#!/usr/bin/env python3
"""The etcd store's two write requests, timed alone (docs/performance.md,
issue 22): a serializable read (the round trip), the linearizable one-key
read the writer sends first to a member not yet answering it (the probe;
before every operator's write until 2026-12-03), the put-if txn, on one
keep-alive connection as the writer does. Usage: etcd-req-latency.py HOST:PORT N
(against a test bed member, e.g. tests/etcd-lib.sh's; loopback only)."""
import http.client, json, time, base64, sys
ep = sys.argv[1]; n = int(sys.argv[2])
host, port = ep.split(':')
c = http.client.HTTPConnection(host, int(port))
k = base64.b64encode(b'/mtc/admin/node-1').decode()
def post(path, body):
    c.request('POST', path, json.dumps(body), {'Content-Type': 'application/json'})
    r = c.getresponse(); d = r.read(); assert r.status == 200, d
    return json.loads(d)
post('/v3/kv/put', {'key': k, 'value': base64.b64encode(b'unlocked').decode()})
res = {'serializable read': [], 'linearizable read (probe)': [], 'txn (put-if)': [], 'probe+txn': []}
for i in range(n):
    t0 = time.perf_counter(); post('/v3/kv/range', {'key': k, 'serializable': True}); t1 = time.perf_counter()
    g = post('/v3/kv/range', {'key': k}); t2 = time.perf_counter()
    mr = int(g['kvs'][0]['mod_revision'])
    v = base64.b64encode(b'locked' if i % 2 == 0 else b'unlocked').decode()
    post('/v3/kv/txn', {'compare': [{'key': k, 'target': 'MOD', 'result': 'EQUAL', 'mod_revision': mr}],
                         'success': [{'request_put': {'key': k, 'value': v}}],
                         'failure': [{'request_range': {'key': k}}]}); t3 = time.perf_counter()
    res['serializable read'].append(t1 - t0); res['linearizable read (probe)'].append(t2 - t1)
    res['txn (put-if)'].append(t3 - t2); res['probe+txn'].append(t3 - t1)
for name, v in res.items():
    v.sort()
    print('%-28s n=%d p50=%.2f ms p99=%.2f ms max=%.2f ms' % (name, len(v), v[len(v)//2]*1e3, v[int(len(v)*0.99)]*1e3, v[-1]*1e3))
