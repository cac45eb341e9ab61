#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A DNS server for the resolver tests, on 127.0.0.1 only, that misbehaves
# on purpose, by the first label of the name asked: "servfail" answers
# SERVFAIL, "refused" REFUSED, "silent" never answers; anything else gets
# NXDOMAIN.  Prints "port=N" once it listens; stops when its standard input
# closes, or after 10 minutes at most.
#   python3 dns-responder.py            serve
#   python3 dns-responder.py probe PORT wait (bounded) until PORT answers
import select
import socket
import struct
import sys
import time


def query(qid, name):
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for label in name.split('.'):
        q += bytes([len(label)]) + label.encode()
    return q + b'\0' + struct.pack('>HH', 1, 1)


def probe(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    end = time.monotonic() + 20
    while time.monotonic() < end:
        try:
            s.sendto(query(7, 'probe.test'), ('127.0.0.1', port))
            if s.recv(512)[:2] == b'\0\x07':
                return 0
        except OSError:
            time.sleep(0.05)
    return 1


def first_label(pkt):
    if len(pkt) < 13:
        return ''
    n = pkt[12]
    return pkt[13:13 + n].decode('ascii', 'replace').lower()


def serve():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    print('port=%d' % s.getsockname()[1], flush=True)
    end = time.monotonic() + 600
    while time.monotonic() < end:
        r, _, _ = select.select([s, sys.stdin], [], [], 1)
        if sys.stdin in r and not sys.stdin.buffer.read1(64):
            return 0
        if s not in r:
            continue
        pkt, peer = s.recvfrom(512)
        if len(pkt) < 12:
            continue
        label = first_label(pkt)
        if label == 'silent':
            continue
        rcode = {'servfail': 2, 'refused': 5}.get(label, 3)
        qid, flags = struct.unpack('>HH', pkt[:4])
        # The question goes back as asked; no answer records.
        head = struct.pack('>HHHHHH', qid, 0x8180 | (flags & 0x0100) | rcode, 1, 0, 0, 0)
        s.sendto(head + pkt[12:], peer)
    return 0


if __name__ == '__main__':
    if len(sys.argv) > 2 and sys.argv[1] == 'probe':
        sys.exit(probe(int(sys.argv[2])))
    sys.exit(serve())
