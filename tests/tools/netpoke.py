#!/usr/bin/env python3
"""Test helper for raw datagrams: send text/bytes to unix sockets, capture and
replay UDP frames, forge mtc frames. Loopback addresses only; every wait is
bounded."""
import hashlib
import hmac
import os
import signal
import socket
import struct
import sys
import time


def only_loopback(addr):
    # 10.250.0.0/16 exists only inside the test namespaces of
    # tests/fault/netns-lib.sh.
    if not addr.startswith("127.") and not addr.startswith("10.250."):
        sys.exit(f"netpoke: refusing address {addr} (loopback or the netns test bed only)")


def udp_flood(addr, port, hexdata, count, src=None):
    """Send one frame count times (replay floods)."""
    only_loopback(addr)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if src:
        only_loopback(src)
        s.bind((src, 0))
    data = bytes.fromhex(hexdata)
    for i in range(int(count)):
        try:
            s.sendto(data, (addr, int(port)))
        except (BlockingIOError, ConnectionRefusedError):
            pass
        if i % 200 == 199:
            time.sleep(0.002)  # let the receiver drain: count frames, not drops


def udp_alternate(addr_ports, hexfile, seconds, src=None):
    """Replay the frames in hexfile (one per line) in turn to every
    addr:port, every 20 ms, for a bounded time."""
    frames = [bytes.fromhex(l.strip()) for l in open(hexfile) if l.strip()]
    targets = []
    for ap in addr_ports.split(","):
        a, p = ap.rsplit(":", 1)
        only_loopback(a)
        targets.append((a, int(p)))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if src:
        only_loopback(src)
        s.bind((src, 0))
    end = time.time() + float(seconds)
    i = 0
    while time.time() < end:
        for t in targets:
            try:
                s.sendto(frames[i % len(frames)], t)
            except OSError:
                pass
        i += 1
        time.sleep(0.02)


def udp_squat(addr_ports, seconds, ready_file, mode="reuse"):
    """Bind every addr:port like a hostile local user would, report each
    result, hold the bound ones. mode reuse: with SO_REUSEADDR and
    SO_REUSEPORT (to share a port a daemon holds); plain: without (to keep
    a port from a daemon that starts later)."""
    held = []
    results = []
    for ap in addr_ports.split(","):
        a, p = ap.rsplit(":", 1)
        only_loopback(a)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if mode == "reuse":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            s.bind((a, int(p)))
            held.append(s)
            results.append(f"{ap} bound")
        except OSError as e:
            results.append(f"{ap} refused {e.strerror}")
    out = sys.stdout if ready_file == "-" else open(ready_file, "w")
    out.write("\n".join(results) + "\n")
    out.flush()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    end = time.time() + float(seconds)
    got = 0
    try:
        while time.time() < end:
            for s in held:
                s.settimeout(0.05)
                try:
                    s.recvfrom(4096)
                    got += 1
                except (socket.timeout, BlockingIOError):
                    pass
    finally:
        out.write(f"received {got}\n")
        out.flush()


def unix_hold(path, count, seconds):
    """Connect count times to a stream socket and send nothing."""
    conns = []
    for _ in range(int(count)):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        conns.append(c)
    print(f"holding {len(conns)}", flush=True)
    time.sleep(float(seconds))


def unix_send(path, payload):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(payload, path)


def status_server(path, replyhex, ready, seconds):
    """A fake hostwd: answer every "v1 status" request on the datagram
    socket path with the given reply, through the descriptor the request
    passes (as hostwd does), until seconds have passed."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    open(ready, "w").close()
    end = time.time() + float(seconds)
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            msg, fds, _, _ = socket.recv_fds(s, 64, 4)
        except socket.timeout:
            break
        for fd in fds:
            if msg == b"v1 status":
                os.write(fd, bytes.fromhex(replyhex))
            os.close(fd)


def stream_server(path, replyhex, ready, seconds, hold="0"):
    """A fake mtcagent: read each control request to its end, send the
    given reply, close (after hold seconds: a reply that stalls midway);
    until seconds have passed."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(4)
    open(ready, "w").close()
    end = time.time() + float(seconds)
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            c, _ = s.accept()
        except socket.timeout:
            break
        c.settimeout(5)
        try:
            while c.recv(4096):
                pass
            c.sendall(bytes.fromhex(replyhex))
            time.sleep(float(hold))
        except OSError:
            pass
        c.close()


def udp_capture(addr, port, out, seconds, count, ready=None):
    only_loopback(addr)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    if ready:
        # Bound: the caller may send now (it waits for this file, not a time).
        open(ready, "w").close()
    end = time.time() + float(seconds)
    n = 0
    # Created only after bind(): tests wait for the file to know we listen.
    with open(out, "w") as f:
        while time.time() < end and n < int(count):
            s.settimeout(max(0.01, end - time.time()))
            try:
                data, _ = s.recvfrom(4096)
            except socket.timeout:
                break
            f.write(data.hex() + "\n")
            f.flush()
            n += 1


def udp_send(addr, port, hexdata, src=None):
    only_loopback(addr)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if src:
        only_loopback(src)
        s.bind((src, 0))
    s.sendto(bytes.fromhex(hexdata), (addr, int(port)))


def mtc_frame(keyhex, ftype, net, flags, boot, seq, noncehex, host, cmdseq=0):
    """Build a version-2 frame per docs/protocol.md, signed with keyhex."""
    h = host.encode()
    hdr = b"MT" + struct.pack(">BBBBBBIII", 2, int(ftype), int(net), int(flags), len(h), 0,
                              int(boot), int(seq), int(cmdseq)) + bytes.fromhex(noncehex) + h
    mac = hmac.new(bytes.fromhex(keyhex), hdr, hashlib.sha256).digest()
    return (hdr + mac).hex()


def main(argv):
    cmd = argv[1]
    if cmd == "unix-send":
        unix_send(argv[2], argv[3].encode() if len(argv) > 3 else b"")
    elif cmd == "unix-send-hex":
        unix_send(argv[2], bytes.fromhex(argv[3]))
    elif cmd == "udp-capture":
        udp_capture(*argv[2:8])
    elif cmd == "udp-send":
        udp_send(*argv[2:])
    elif cmd == "udp-flood":
        udp_flood(*argv[2:])
    elif cmd == "udp-alternate":
        udp_alternate(*argv[2:])
    elif cmd == "udp-squat":
        udp_squat(*argv[2:6])
    elif cmd == "unix-hold":
        unix_hold(*argv[2:5])
    elif cmd == "status-server":
        status_server(*argv[2:6])
    elif cmd == "stream-server":
        stream_server(*argv[2:7])
    elif cmd == "mtc-frame":
        print(mtc_frame(*argv[2:11]))
    else:
        sys.exit(f"netpoke: unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
