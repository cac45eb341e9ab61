# Runs a test program with a chosen engine backend:
#   . with-backend.sh BACKEND PROGRAM
# Sourced by the *-syscall.sh test scripts so that every suite runs against
# both the io_uring and the syscall backend.
URNET_BACKEND=$1
export URNET_BACKEND
exec "${top_builddir:-.}/$2"
