# The engine suite with idle polling switched off: the engine sleeps as
# soon as it runs dry, and every request that finds it asleep wakes it.
URNET_ENGINE_POLL_US=0
export URNET_ENGINE_POLL_US
exec "${top_builddir:-.}/test/engine"
