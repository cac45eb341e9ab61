#!/bin/sh
# SPDX-License-Identifier: MIT
# Socket activation: test/activate takes its listeners with
# urnet_listen_fds() and echoes one line on each.  Run under Debian's
# systemd-socket-activate where it is installed, and under a launcher that
# sets LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES itself (tcp and unix
# listeners); a datagram socket passed as fd 3 is refused with EINVAL and
# left as it was.
set -u

prog=${top_builddir:-.}/test/activate
. "${srcdir:-.}/test/script-lib.sh"
script_start activate

# Connect to each unix socket path (or host:port) in turn, send a line,
# expect it back; every step bounded.
client() {
	python3 - "$@" <<'PY'
import socket, sys, time
for addr in sys.argv[1:]:
    end = time.monotonic() + 20
    while True:
        try:
            if addr.startswith('/'):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(20)
                s.connect(addr)
            else:
                host, port = addr.rsplit(':', 1)
                s = socket.create_connection((host, int(port)), timeout=20)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > end:
                sys.exit('no listener at ' + addr)
            time.sleep(0.01)
    msg = ('hello ' + addr + '\n').encode()
    s.sendall(msg)
    got = b''
    while len(got) < len(msg):
        b = s.recv(256)
        if not b:
            break
        got += b
    if got != msg:
        sys.exit('echo from %s: %r' % (addr, got))
    s.close()
print('echoed')
PY
}

if command -v systemd-socket-activate >/dev/null 2>&1; then
	systemd-socket-activate -l "$tmp/a.sock" -l "$tmp/b.sock" --fdname=web:admin \
		"$prog" >"$tmp/sd.out" 2>"$tmp/sd.err" &
	pid=$!
	out=$(client "$tmp/a.sock" "$tmp/b.sock") || fail "systemd-socket-activate client: $out"
	wait "$pid" || fail "test/activate under systemd-socket-activate exited $?"
	pid=
	want='n=2 env=unset
0 name=web cloexec=1
1 name=admin cloexec=1'
	[ "$(cat "$tmp/sd.out")" = "$want" ] || fail "systemd-socket-activate: $(cat "$tmp/sd.out")"
else
	echo "systemd-socket-activate not installed: only the launcher cases run"
fi

# The launcher: fork; the child puts its listeners at 3, 4 and execs;
# the parent is the client, then prints what the child printed.
launch() {
	python3 - "$prog" "$tmp" "$1" <<'PY'
import os, socket, sys
prog, tmp, mode = sys.argv[1:]
if mode == 'refuse':
    d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    d.bind(('127.0.0.1', 0))
    socks = [d]
else:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(('127.0.0.1', 0))
    t.listen(8)
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.bind(tmp + '/l.sock')
    u.listen(8)
    socks = [t, u]
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.dup2(w, 1)
    # Out of the way first: a socket may already sit at 3 or 4.
    high = [os.dup(s.fileno()) for s in socks]
    for i, fd in enumerate(high):
        os.dup2(fd, 3 + i)
        os.set_inheritable(3 + i, True)   # and blocking, as systemd passes them
    os.environ['LISTEN_PID'] = str(os.getpid())
    os.environ['LISTEN_FDS'] = str(len(socks))
    os.environ['LISTEN_FDNAMES'] = 'tcp'   # a second one goes unnamed
    os.execv(prog, [prog, mode])
os.close(w)
if mode != 'refuse':
    for s in socks:
        c = socket.socket(s.family, socket.SOCK_STREAM)
        c.settimeout(20)
        c.connect(s.getsockname())
        c.sendall(b'hello\n')
        if c.recv(64) != b'hello\n':
            sys.exit('no echo from ' + str(s.getsockname()))
        c.close()
for s in socks:
    s.close()
with os.fdopen(r, 'rb') as f:
    out = f.read()
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode())
sys.exit(os.waitstatus_to_exitcode(st))
PY
}

out=$(launch serve) || fail "launcher: exit $?: $out"
want='n=2 env=unset
0 name=tcp cloexec=1
1 name=unknown cloexec=1'
[ "$out" = "$want" ] || fail "launcher: $out"

out=$(launch refuse) || fail "launcher refuse: exit $?: $out"
[ "$out" = "n=-1 errno=EINVAL fd3=blocking" ] || fail "datagram socket: $out"

[ "$status" = 0 ] && echo "socket activation: ok"
exit "$status"
