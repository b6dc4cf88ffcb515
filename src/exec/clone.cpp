#include "exec/clone.hpp"

#include <linux/sched.h>
#include <sys/syscall.h>

#include <csignal>
#include <cstdint>

// clone3 returns twice, the second time on a new stack: only assembly can
// carry on from there, so the child's side (call fn(arg), then exit) is a few
// instructions here. Registers other than the return value survive the system
// call, and the child starts with the parent's. Without a new stack (no
// CLONE_VM) the child runs on its copy of the caller's, re-aligned for the
// call.
extern "C" long trex_clone3_run(clone_args* args, unsigned long size, int (*fn)(void*), void* arg);

#if defined(__x86_64__)
asm(R"(
  .text
  .globl trex_clone3_run
  .type trex_clone3_run,@function
trex_clone3_run:
  mov %rdx, %r8
  mov %rcx, %r9
  mov $435, %eax
  syscall
  test %rax, %rax
  jnz 1f
  xor %ebp, %ebp
  and $-16, %rsp
  mov %r9, %rdi
  call *%r8
  mov %eax, %edi
  mov $60, %eax
  syscall
  hlt
1:
  ret
  .size trex_clone3_run, .-trex_clone3_run
)");
#elif defined(__aarch64__)
asm(R"(
  .text
  .globl trex_clone3_run
  .type trex_clone3_run,%function
trex_clone3_run:
  mov x8, #435
  svc #0
  cbnz x0, 1f
  mov x0, x3
  blr x2
  mov x8, #93
  svc #0
  brk #0
1:
  ret
  .size trex_clone3_run, .-trex_clone3_run
)");
#else
#error "trex: add this architecture's clone3 trampoline"
#endif

static_assert(SYS_clone3 == 435, "the trampoline's system call number");

namespace trex::exec::detail {

long clone_into_cgroup(int cgroup, bool vfork, int* pidfd, int (*fn)(void*), void* arg) {
  // The vfork child's stack: untouched pages cost nothing, and the frame
  // outlives the child's use of it (the caller is suspended until its exec).
  alignas(16) unsigned char stack[64 * 1024];
  clone_args args{};
  args.flags = CLONE_INTO_CGROUP | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<std::uintptr_t>(pidfd);
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<std::uint64_t>(cgroup);
  if (vfork && !kSanitized) {
    args.flags |= CLONE_VM | CLONE_VFORK;
    args.stack = reinterpret_cast<std::uintptr_t>(stack);
    args.stack_size = sizeof stack;
  }
  return trex_clone3_run(&args, sizeof args, fn, arg);
}

}  // namespace trex::exec::detail
