// The pure parts of the cgroup v2 fence: trexd's group from /proc/self/cgroup
// and its directory from /proc/self/mountinfo; and the refusal of a
// directory that is not a cgroup; the names of command groups.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "exec/cgroup.hpp"

namespace trex::exec::detail {
namespace {

// This machine's layout: v1 controllers beside a v2 hierarchy at
// /sys/fs/cgroup/unified (systemd's "hybrid").
constexpr std::string_view kHybridCgroup =
    "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/2c55\n1:cpu:/\n0::/\n";
constexpr std::string_view kHybridMounts =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
// A systemd host (unified), with optional fields before the separator.
constexpr std::string_view kUnifiedMounts =
    "24 30 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n"
    "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev shared:9 - cgroup2 cgroup2 rw,nsdelegate\n";

TEST(CgroupParse, GroupIsTheZeroLine) {
  EXPECT_EQ(v2_group_of(kHybridCgroup), "/");
  EXPECT_EQ(v2_group_of("0::/system.slice/trexd.service\n"), "/system.slice/trexd.service");
  EXPECT_EQ(v2_group_of("0::/a b"), "/a b");  // no newline at the end
}

TEST(CgroupParse, NoZeroLineMeansNoV2Hierarchy) {
  EXPECT_EQ(v2_group_of("4:memory:/x\n1:cpu:/\n"), std::nullopt);
  EXPECT_EQ(v2_group_of(""), std::nullopt);
  EXPECT_EQ(v2_group_of("0::\n"), std::nullopt);
  EXPECT_EQ(v2_group_of("10::/not-zero\n"), std::nullopt);
}

TEST(CgroupParse, DirectoryIsBelowTheCgroup2Mount) {
  EXPECT_EQ(v2_directory(kHybridMounts, "/"), "/sys/fs/cgroup/unified");
  EXPECT_EQ(v2_directory(kHybridMounts, "/a/b"), "/sys/fs/cgroup/unified/a/b");
  EXPECT_EQ(v2_directory(kUnifiedMounts, "/system.slice/trexd.service"),
            "/sys/fs/cgroup/system.slice/trexd.service");
}

TEST(CgroupParse, OnlyACgroup2MountCounts) {
  EXPECT_EQ(v2_directory("35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", "/"),
            std::nullopt);
  EXPECT_EQ(v2_directory("", "/"), std::nullopt);
  EXPECT_EQ(v2_directory("41 31 0:38 / /x rw\n", "/"), std::nullopt);  // no separator
}

// A container sees a mount whose root is its own group (or an ancestor).
TEST(CgroupParse, MountRootMustContainTheGroup) {
  const std::string_view bind = "50 40 0:38 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(v2_directory(bind, "/docker/abc"), "/sys/fs/cgroup");
  EXPECT_EQ(v2_directory(bind, "/docker/abc/x"), "/sys/fs/cgroup/x");
  EXPECT_EQ(v2_directory(bind, "/docker/abcd"), std::nullopt);  // not a path boundary
  EXPECT_EQ(v2_directory(bind, "/docker"), std::nullopt);
}

TEST(CgroupParse, LongestRootWins) {
  const std::string mounts =
      "41 31 0:38 / /all rw - cgroup2 cgroup2 rw\n"
      "42 31 0:38 /lab /lab-only rw - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(v2_directory(mounts, "/lab/t"), "/lab-only/t");
  EXPECT_EQ(v2_directory(mounts, "/other"), "/all/other");
}

TEST(CgroupParse, EscapedMountPointsAreDecoded) {
  EXPECT_EQ(v2_directory("41 31 0:38 / /mnt/my\\040cg rw - cgroup2 none rw\n", "/g"),
            "/mnt/my cg/g");
}

// Only groups named in this PID namespace give a PID to judge.
TEST(CgroupParse, AGroupsPidCountsOnlyInItsOwnNamespace) {
  EXPECT_EQ(own_namespace_pid("trexd-42.4026531836-7", 4026531836UL), 42);
  EXPECT_EQ(own_namespace_pid("trexd-42.4026531836-probe", 4026531836UL), 42);
  EXPECT_EQ(own_namespace_pid("trexd-42.4026531837-7", 4026531836UL), std::nullopt);
  EXPECT_EQ(own_namespace_pid("trexd-42-7", 4026531836UL), std::nullopt);  // no namespace
  EXPECT_EQ(own_namespace_pid("trexd-42.4026531836", 4026531836UL), std::nullopt);
  EXPECT_EQ(own_namespace_pid("trexd-.4026531836-7", 4026531836UL), std::nullopt);
  EXPECT_EQ(own_namespace_pid("trexd-99999999999999999999.1-7", 1UL), std::nullopt);
  EXPECT_EQ(own_namespace_pid("other-42.4026531836-7", 4026531836UL), std::nullopt);
  const auto mine = group_prefix();
  EXPECT_EQ(mine.rfind("trexd-" + std::to_string(::getpid()) + ".", 0), 0u) << mine;
  struct stat st {};
  ASSERT_EQ(::stat("/proc/self/ns/pid", &st), 0);
  EXPECT_EQ(own_namespace_pid(mine + "3", st.st_ino), ::getpid());
}

TEST(CgroupBase, RefusesADirectoryThatIsNotACgroup) {
  const auto base = CgroupBase::open("/tmp");
  ASSERT_FALSE(base);
  EXPECT_EQ(base.message(), "/tmp is not a cgroup v2 directory");
  const auto missing = CgroupBase::open("/nonexistent/trex");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find("cannot open /nonexistent/trex"), std::string::npos);
}

}  // namespace
}  // namespace trex::exec::detail
