// unit_exec's cases on the cgroup path: every command started straight into
// a cgroup of its own, with no reaper (see ExecTest in exec_test.cpp).
#define TREX_EXEC_TEST_CGROUP 1
#include "unit/exec_test.cpp"
