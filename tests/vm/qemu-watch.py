#!/usr/bin/env python3
"""Attach to a QEMU started with -S: its QMP socket and its serial console
socket. Log every console line and every QMP event, each with the host's
wall-clock time, to one file, then let the guest run ('cont'). Exits when
QEMU closes the sockets.

Log lines:  <epoch.s> console <text>   |   <epoch.s> event <NAME> <json data>
QMP events carry QEMU's own timestamp, which is used for them.

usage: qemu-watch.py QMP_SOCKET SERIAL_SOCKET LOG [CONNECT_TIMEOUT_S]
"""
import json
import os
import select
import socket
import sys
import time


def connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def main():
    qmp_path, serial_path, log_path = sys.argv[1:4]
    limit = float(sys.argv[4]) if len(sys.argv) > 4 else 20
    deadline = time.time() + limit
    qmp = connect(qmp_path, deadline)
    ser = connect(serial_path, deadline)
    log = open(log_path, "a", buffering=1)

    def out(ts, kind, text):
        log.write("%.3f %s %s\n" % (ts, kind, text))

    qbuf = b""

    def qmp_lines(data):
        nonlocal qbuf
        qbuf += data
        while b"\n" in qbuf:
            line, qbuf = qbuf.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)

    # Greeting, capabilities, then run the guest.
    qmp.sendall(b'{"execute": "qmp_capabilities"}\n')
    qmp.sendall(b'{"execute": "cont"}\n')
    out(time.time(), "watch", "attached; guest started")
    sbuf = b""
    socks = [qmp, ser]
    while socks:
        ready, _, _ = select.select(socks, [], [], 1.0)
        for s in ready:
            data = s.recv(65536)
            if not data:
                socks.remove(s)
                continue
            if s is ser:
                now = time.time()
                sbuf += data
                while b"\n" in sbuf:
                    line, sbuf = sbuf.split(b"\n", 1)
                    out(now, "console", line.decode("utf-8", "replace").rstrip("\r"))
            else:
                for msg in qmp_lines(data):
                    if "event" in msg:
                        t = msg.get("timestamp", {})
                        ts = t.get("seconds", 0) + t.get("microseconds", 0) / 1e6
                        out(ts, "event", "%s %s" % (msg["event"], json.dumps(msg.get("data", {}), sort_keys=True)))
    if sbuf:
        out(time.time(), "console", sbuf.decode("utf-8", "replace").rstrip("\r"))
    out(time.time(), "watch", "qemu closed its sockets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
