# The HTTP example's curl test on the plain-syscall engine backend.
URNET_BACKEND=syscall
export URNET_BACKEND
. "${srcdir:-.}/test/http.sh"
