#!/usr/bin/env python3
"""Test helper for raw datagrams: send text/bytes to unix sockets, capture and
replay UDP frames, forge mtc frames. Loopback addresses only; every wait is
bounded."""
import hashlib
import hmac
import socket
import struct
import sys
import time


def only_loopback(addr):
    if not addr.startswith("127."):
        sys.exit(f"netpoke: refusing non-loopback address {addr}")


def unix_send(path, payload):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(payload, path)


def udp_capture(addr, port, out, seconds, count):
    only_loopback(addr)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    end = time.time() + float(seconds)
    n = 0
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
        udp_capture(*argv[2:7])
    elif cmd == "udp-send":
        udp_send(*argv[2:])
    elif cmd == "mtc-frame":
        print(mtc_frame(*argv[2:11]))
    else:
        sys.exit(f"netpoke: unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
