#!/usr/bin/env python3
# The checks of test/top.sh: runs test/plain-waits under urnet-run and
# looks at it with urnet-top.
#   top-check.py URUN PROGRAM URNET_TOP [POLLERS]
import json
import os
import shutil
import subprocess
import sys
import time

urun, prog, top = sys.argv[1].split(), sys.argv[2], sys.argv[3]
npoll = int(sys.argv[4]) if len(sys.argv) > 4 else 10


def fail(msg):
    print("top-check: FAIL: " + msg, file=sys.stderr)
    p.kill()
    sys.exit(1)


def snapshot():
    r = subprocess.run([top, "--once", "--json", str(pid)], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        fail("urnet-top --json exited %d: %s" % (r.returncode, r.stderr))
    return [json.loads(line) for line in r.stdout.splitlines()]


def keyed(snap):
    return {(w["call"], w["fd"]): w for w in snap}


p = subprocess.Popen(urun + [prog, str(npoll)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
expected = {}
pid = None
for line in p.stdout:
    f = line.split()
    if f[0] == "expect":
        expected[(f[1], int(f[2]))] = {"local": f[3], "peer": f[4], "name": f[5]}
    elif f[0] == "pid":
        pid = int(f[1])
    elif f[0] == "ready":
        break
if pid is None or len(expected) != 115 + npoll:
    fail("the program did not start: %d calls, pid %s" % (len(expected), pid))

# Every blocked call parks at its own pace: look until all are there (bounded).
deadline = time.monotonic() + 120
while True:
    first = keyed(snapshot())
    if set(first) == set(expected):
        break
    if not set(first) <= set(expected):
        fail("listed calls nobody made: %s" % sorted(set(first) - set(expected)))
    if time.monotonic() > deadline:
        fail("missing after 120 s: %s" % sorted(set(expected) - set(first)))
    time.sleep(0.05)

for k, want in expected.items():
    got = first[k]
    if got["sock"] != "tcp":
        fail("%s: sock %s" % (k, got["sock"]))
    if want["local"] != "*" and got["local"] != want["local"]:
        fail("%s: local %s, want %s" % (k, got["local"], want["local"]))
    if got["peer"] != want["peer"]:
        fail("%s: peer %s, want %s" % (k, got["peer"], want["peer"]))
    if got["name"] != want["name"]:
        fail("%s: thread name %s, want %s" % (k, got["name"], want["name"]))
    if got["deadline_ns"] is not None or got["wait_ns"] < 0:
        fail("%s: wait %s deadline %s" % (k, got["wait_ns"], got["deadline_ns"]))
print("top-check: 100 reads, 10 accepts, 5 connects, %d polls listed with their fds and addresses"
      % npoll)

second = keyed(snapshot())
if set(second) != set(expected):
    fail("the second snapshot differs: %s" % sorted(set(second) ^ set(expected)))
for k in expected:
    if second[k]["tid"] != first[k]["tid"] or second[k]["wait_ns"] <= first[k]["wait_ns"]:
        fail("%s: waited %d then %d" % (k, first[k]["wait_ns"], second[k]["wait_ns"]))
print("top-check: every wait is older in the second snapshot")

p.stdin.write("release 7\n")
p.stdin.flush()
line = p.stdout.readline().split()
if line[:1] != ["released"]:
    fail("release: %s" % line)
gone = ("read", int(line[1]))
third = keyed(snapshot())
if gone in third or set(third) != set(expected) - {gone}:
    fail("after reader 7 returned: %s" % sorted(set(third) ^ (set(expected) - {gone})))
print("top-check: the returned read is gone from the next snapshot")

r = subprocess.run([top, "--once", "--hist", str(pid)], capture_output=True, text=True,
                   timeout=60)
rows = {l.split()[0]: l.split()[1:] for l in r.stdout.splitlines()[1:]}
if r.returncode != 0 or "read" not in rows or sum(int(n) for n in rows["read"]) < 1:
    fail("urnet-top --hist: %s %s" % (r.stdout, r.stderr))
print("top-check: the histogram counts the finished read")

# Another user is refused, by the program itself (SO_PEERCRED).
setpriv = shutil.which("setpriv")
if os.geteuid() != 0 or not setpriv:
    print("top-check: not root or no setpriv: another user's request not tried")
else:
    with open(top, "rb") as script:
        r = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                            sys.executable, "-", "--once", "--json", str(pid)],
                           stdin=script, capture_output=True, text=True, timeout=60)
    if r.returncode != 1 or "permission denied" not in r.stderr or r.stdout:
        fail("uid 65534 was not refused: rc %d out %r err %r" % (r.returncode, r.stdout,
                                                                  r.stderr))
    print("top-check: uid 65534 is refused")

p.stdin.write("quit\n")
p.stdin.close()
if p.wait(timeout=60) != 0:
    fail("the program exited %d" % p.returncode)
print("top-check: ok")
