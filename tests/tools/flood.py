#!/usr/bin/env python3
"""Flood a unix datagram socket from this process (run it as an unprivileged
uid): garbage and forged 'quorum lost' reports, non-blocking, for a bounded
time. Prints what the kernel said: sent, EAGAIN (queue full), EACCES."""
import errno
import socket
import sys
import time

path, seconds = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setblocking(False)
payloads = [b"x" * 64, b"v1 configured=0 quorum=lost process=evil seq=1", b"v9 junk"]
sent = eagain = eacces = other = 0
end = time.monotonic() + seconds
i = 0
while time.monotonic() < end:
    try:
        s.sendto(payloads[i % 3], path)
        sent += 1
    except BlockingIOError:
        eagain += 1
    except PermissionError:
        eacces += 1
        time.sleep(0.001)  # nothing will change; keep the CPU for others
    except OSError as e:
        other += 1
        if e.errno not in (errno.ECONNREFUSED, errno.ENOENT):
            print(f"error {e}", file=sys.stderr)
        time.sleep(0.001)
    i += 1
print(f"sent={sent} eagain={eagain} eacces={eacces} other={other}")
