// The basic round trip: a command's output, stderr and exit status.
#include <gtest/gtest.h>

#include "support/harness.hpp"

namespace trex::testing {
namespace {

class Smoke : public ::testing::Test {
 protected:
  TempDir tmp_;
  Pki pki_{tmp_.path()};
  Trexd server_{pki_, tmp_.path()};
};

TEST_F(Smoke, RunsArgvAndShellCommands) {
  auto r = server_.trex("client", {"echo", "hello", "world"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hello world\n");
  auto s = server_.trex("client", {"-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(s.status, 3);
  EXPECT_EQ(s.out, "out\n");
  EXPECT_EQ(s.err, "err\n");
  EXPECT_EQ(audit_records(server_.audit_path(), "exec_end").size(), 2u);
  EXPECT_EQ(verify_trail(server_.audit_path()), 0);
}

}  // namespace
}  // namespace trex::testing
