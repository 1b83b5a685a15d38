#!/usr/bin/env python3
"""Read a hostwd FIFO fake for SECONDS and print the gaps between kicks
(one byte each): kickgaps.py FIFO SECONDS -> "n=N p50=.. p99=.. max=.. (ms)"."""
import os
import select
import sys
import time

fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
end = time.monotonic() + float(sys.argv[2])
last, gaps = None, []
while True:
    left = end - time.monotonic()
    if left <= 0:
        break
    if not select.select([fd], [], [], left)[0]:
        continue
    data = os.read(fd, 64)
    now = time.monotonic()
    if not data:  # no writer yet or any more
        time.sleep(0.01)
        continue
    for _ in data:
        if last is not None:
            gaps.append((now - last) * 1000)
        last = now
gaps.sort()
if not gaps:
    print("n=0")
    sys.exit(1)
pick = lambda q: gaps[min(len(gaps) - 1, int(q * len(gaps)))]
print("n=%d p50=%.2f p99=%.2f max=%.2f" % (len(gaps), pick(0.5), pick(0.99), gaps[-1]))
