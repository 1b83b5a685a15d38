#!/usr/bin/env python3
"""A TCP relay in front of one etcd member that holds back replies.

    etcd-relay.py LISTEN_PORT UPSTREAM_PORT PATHS DELAY_S SWITCH_FILE LIFETIME_S

Listens on 127.0.0.1:LISTEN_PORT and forwards every connection to
127.0.0.1:UPSTREAM_PORT. While SWITCH_FILE exists, the reply to a request
whose path starts with one of PATHS (comma-separated, e.g.
/v3/kv/put,/v3/kv/txn) is held DELAY_S seconds
before its first byte goes back: the request reached etcd (and may have
committed), the client sees a timeout. Loopback only; exits after
LIFETIME_S seconds (bounded, for tests)."""
import os
import socket
import sys
import threading
import time


def pump(src, dst, hold):
    first = True
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if first and hold():
                time.sleep(DELAY)
            first = False
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    up = socket.create_connection(("127.0.0.1", UPSTREAM), timeout=5)
    up.settimeout(None)
    head = client.recv(65536)
    held = head.count(b" ") >= 2 and head.split(b" ", 2)[1].startswith(PATHS)
    held = held and os.path.exists(SWITCH)
    up.sendall(head)
    threading.Thread(target=pump, args=(client, up, lambda: False), daemon=True).start()
    pump(up, client, lambda: held)


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", LISTEN))
    srv.listen(64)
    srv.settimeout(0.5)
    end = time.monotonic() + LIFETIME
    while time.monotonic() < end:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=lambda c=c: serve_safe(c), daemon=True).start()


def serve_safe(c):
    try:
        serve(c)
    except OSError:
        c.close()


if __name__ == "__main__":
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    LISTEN, UPSTREAM = int(sys.argv[1]), int(sys.argv[2])
    PATHS = tuple(p.encode() for p in sys.argv[3].split(","))
    DELAY, SWITCH = float(sys.argv[4]), sys.argv[5]
    LIFETIME = float(sys.argv[6])
    main()
