# End to end: children that share the parent's memory under urnet-run.
# A child made by vfork(), clone(CLONE_VM) or posix_spawn() (and one made
# by a raw clone that runs no fork handlers) changes its own fd table
# before exec while the parent's threads are blocked on the engine: the
# child's calls go to the C library, and the parent's blocked calls keep
# waiting and complete normally (test/plain-spawn.c, the same output as
# bare Linux, on both backends).  Then a plain libc echo server that runs
# /bin/true and a shell pipeline every tenth request, and a threaded
# Python server that runs subprocess.run every tenth request, each with
# 100 connections.  Everything on loopback, every run under a timeout.
. "${srcdir:-.}/test/preload-lib.sh"

PROG=$B/test/plain-spawn
[ -x "$PROG" ] || fail "$PROG not built"
# Debian's python3 (.ci/install-deps), else whichever is first in PATH.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3) || fail "python3 not found (see .ci/install-deps)"

modes="vfork-close-range vfork-dup2 vfork-close vfork-fcntl clone-vm clone-copy spawn"
case $runtime in
*tsan*)
	# ThreadSanitizer's runtime turns vfork() into fork(), so there the
	# vfork modes run a forked child (and pass all the same); clone-vm
	# still runs a child on the parent's memory.  A raw clone without
	# CLONE_VM is a copy of the process that the runtime takes for the
	# process itself (its close "races" with the parent's threads).
	echo "(ThreadSanitizer build: vfork is a fork here; clone-copy not run)"
	modes="vfork-close-range vfork-dup2 vfork-close vfork-fcntl clone-vm spawn" ;;
esac
for m in $modes; do
	same_as_bare "$PROG" "$m"
	# The parent's blocked recv (or accepts) waited on the engine.
	engine_worked "$tmp/urnet.err" "plain-spawn $m"
done

mkfifo "$tmp/port"
timeout 120 $URUN "$B/test/plain-echo-server" 100 10 >"$tmp/port" 2>"$tmp/server.err" &
spid=$!
read -r port <"$tmp/port" || fail "spawning echo server did not start: $(cat "$tmp/server.err")"
rm -f "$tmp/port"
timeout 120 $URUN "$B/test/plain-echo-client" "$port" 100 20 2>"$tmp/client.err" ||
	fail "echo client against the spawning server: $(cat "$tmp/client.err" "$tmp/server.err")"
wait "$spid" || fail "spawning echo server exited $?: $(cat "$tmp/server.err")"
engine_worked "$tmp/server.err" "spawning echo server"
echo "spawning echo server: 100 connections x 20 messages, a child every 10th request"

timeout 120 $URUN "$PYTHON" "${srcdir:-.}/test/spawn-server.py" 100 10 10 \
	>"$tmp/py.out" 2>"$tmp/py.err" ||
	fail "spawn-server.py exited $?: $(cat "$tmp/py.out" "$tmp/py.err")"
engine_worked "$tmp/py.err" "spawn-server.py"
cat "$tmp/py.out"
echo "preload-spawn: ok"
