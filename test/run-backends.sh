# The test driver of `make check` (the automake harness's LOG_COMPILER):
# runs one test, a program or a script, once on each engine backend and
# passes only if every run passes.
#   sh test/run-backends.sh PROGRAM [ARGS...]
# "default" leaves URNET_BACKEND unset: io_uring, falling back to the
# syscall backend only where the kernel refuses a ring (the fault suite
# tests that fallback); "syscall" sets URNET_BACKEND=syscall.
# URNET_TEST_BACKENDS="syscall" (or "default") runs one of them only.
# A run that exits 77 was skipped (the kernel lacks something, and the
# test said what); the test is reported skipped only if every run was.
backends=${URNET_TEST_BACKENDS:-default syscall}
# A dial by name must never ask the machine's own name servers: unless a
# test names its own resolver file (test/resolve.sh), there are none.
URNET_RESOLV_CONF=${URNET_RESOLV_CONF:-/dev/null}
export URNET_RESOLV_CONF
# Nor may curl, wget or any client send a test's request to a proxy the
# machine's environment names: every test's traffic stays on loopback.
unset http_proxy https_proxy ftp_proxy all_proxy HTTP_PROXY HTTPS_PROXY FTP_PROXY ALL_PROXY
ran=0
for be in $backends; do
	echo "=== ${1##*/}${2:+ ${2##*/}}: backend $be"
	if [ "$be" = default ]; then
		env -u URNET_BACKEND "$@"
	else
		URNET_BACKEND=$be "$@"
	fi
	rc=$?
	case $rc in
	0) ran=$((ran + 1)) ;;
	77) echo "=== skipped on the $be backend" ;;
	*) echo "=== FAILED on the $be backend (exit $rc)"; exit "$rc" ;;
	esac
done
[ "$ran" -gt 0 ] || exit 77
exit 0
