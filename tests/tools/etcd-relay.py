#!/usr/bin/env python3
"""TCP relays in front of etcd members that can hold back replies.

    etcd-relay.py PATHS DELAY_S SWITCH_FILE LIFETIME_S LISTEN:UPSTREAM...

For each LISTEN:UPSTREAM pair, listens on 127.0.0.1:LISTEN and forwards
every connection to 127.0.0.1:UPSTREAM. While SWITCH_FILE exists, the reply
to a request whose path starts with one of PATHS (comma-separated, e.g.
/v3/kv/put,/v3/kv/txn) is held DELAY_S seconds before its first byte goes
back: the request reached etcd (and may have committed), the client sees a
timeout. Requests are looked at one by one on a kept-alive connection. If SWITCH_FILE holds a number N, only the next N such replies
(on any of the relays) are held, then the file is removed. Loopback only;
exits after LIFETIME_S seconds (bounded, for tests)."""
import os
import socket
import sys
import threading
import time

LOCK = threading.Lock()


def take_hold():
    """True if this reply is to be held (and one fewer is left to hold)."""
    with LOCK:
        try:
            with open(SWITCH) as f:
                text = f.read().strip()
        except OSError:
            return False
        if not text:
            return True
        left = int(text) - 1
        if left <= 0:
            os.unlink(SWITCH)
        else:
            with open(SWITCH, "w") as f:
                f.write(str(left))
        return left >= 0


def is_held(data):
    """A request (a chunk from the client that starts one) to hold the reply of."""
    parts = data.split(b" ", 2)
    return len(parts) == 3 and parts[0] == b"POST" and parts[1].startswith(PATHS) and take_hold()


def close_both(a, b):
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def to_upstream(client, up, hold):
    """Client to member: each request (HTTP/1.1 keep-alive: one after the
    other on one connection) is looked at; a held one flags its reply."""
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            if is_held(data):
                hold.set()
            up.sendall(data)
    except OSError:
        pass
    finally:
        close_both(client, up)


def to_client(up, client, hold):
    """Member to client: the first bytes of a flagged reply wait DELAY."""
    try:
        while True:
            data = up.recv(65536)
            if not data:
                break
            if hold.is_set():
                time.sleep(DELAY)
                hold.clear()
            client.sendall(data)
    except OSError:
        pass
    finally:
        close_both(client, up)


def serve(client, upstream):
    up = socket.create_connection(("127.0.0.1", upstream), timeout=5)
    up.settimeout(None)
    hold = threading.Event()
    threading.Thread(target=to_upstream, args=(client, up, hold), daemon=True).start()
    to_client(up, client, hold)


def serve_safe(c, upstream):
    try:
        serve(c, upstream)
    except OSError:
        c.close()


def bind(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    srv.settimeout(0.5)
    return srv


def listen(srv, upstream, end):
    while time.monotonic() < end:
        try:
            c, _ = srv.accept()
        except OSError:  # a timeout, or an aborted connection: the relay keeps listening
            continue
        threading.Thread(target=serve_safe, args=(c, upstream), daemon=True).start()


if __name__ == "__main__":
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    PATHS = tuple(p.encode() for p in sys.argv[1].split(","))
    DELAY, SWITCH, LIFETIME = float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    END = time.monotonic() + LIFETIME
    pairs = [tuple(int(x) for x in a.split(":")) for a in sys.argv[5:]]
    # Every port bound before the first is announced: a test waits for
    # this line, not for a time.
    servers = [(bind(p), u) for p, u in pairs]
    print("listening on " + " ".join(str(p) for p, _ in pairs), flush=True)
    threads = [threading.Thread(target=listen, args=(srv, u, END), daemon=True) for srv, u in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
