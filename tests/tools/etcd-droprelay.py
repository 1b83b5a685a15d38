#!/usr/bin/env python3
"""A member that takes a write and is gone before it answers
(tests/integration/etcd_commit.sh; loopback only). Relays LISTEN ->
UPSTREAM. Once TRIGGER exists, the next POST /v3/kv/txn is forwarded to
etcd, etcd's reply is read and dropped, the listening socket is closed
(the port now refuses connections) and then the client's connection, with
no reply. Lives at most LIFETIME seconds.
Usage: etcd-droprelay.py LISTEN_PORT UPSTREAM_PORT TRIGGER LIFETIME"""
import os, socket, sys, threading, time

LP, UP, TRIG, LIFE = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
END = time.monotonic() + LIFE
DEAD = threading.Event()
CLOSED = threading.Event()


def pump_up(cl, up, st):
    try:
        while True:
            d = cl.recv(65536)
            if not d:
                break
            if d.startswith(b"POST /v3/kv/txn") and os.path.exists(TRIG):
                os.unlink(TRIG)
                st["drop"] = True
                print("txn forwarded to etcd; its reply will be dropped", flush=True)
            up.sendall(d)
    except OSError:
        pass


def serve(cl):
    up = socket.create_connection(("127.0.0.1", UP))
    st = {"drop": False}
    threading.Thread(target=pump_up, args=(cl, up, st), daemon=True).start()
    try:
        while True:
            d = up.recv(65536)
            if not d:
                break
            if st["drop"]:
                print("etcd answered the txn:", d.split(b"\r\n")[0].decode(errors="replace"), "(dropped)", flush=True)
                DEAD.set()
                CLOSED.wait(5)
                cl.shutdown(socket.SHUT_RDWR)
                cl.close()
                up.close()
                print("client connection closed without a reply", flush=True)
                return
            cl.sendall(d)
    except OSError:
        pass


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", LP))
srv.listen(64)
srv.settimeout(0.05)
print("listening on", LP, flush=True)
while not DEAD.is_set() and time.monotonic() < END:
    try:
        c, _ = srv.accept()
    except OSError:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
srv.close()
CLOSED.set()
print("listener closed: the port refuses connections", flush=True)
while time.monotonic() < END:
    time.sleep(0.5)
