# The engine suite with idle polling switched off: the engine sleeps as
# soon as it runs dry, and every request that finds it asleep wakes it.
# Only the io_uring engine polls: on the syscall backend this is the plain
# engine suite again, which test/engine runs already.
if [ "$URNET_BACKEND" = syscall ]; then
	echo "the syscall backend does not poll: nothing more to run"
	exit 77
fi
URNET_ENGINE_POLL_US=0
export URNET_ENGINE_POLL_US
exec "${top_builddir:-.}/test/engine"
