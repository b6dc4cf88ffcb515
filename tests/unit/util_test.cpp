#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdint>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "util/file.hpp"
#include "util/sha256.hpp"
#include "util/sha256_pipe.hpp"
#include "util/size.hpp"
#include "util/time.hpp"

#if TREX_WOLFSSL_ASM
// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/cpuid.h>
// clang-format on
#endif

namespace trex::util {
namespace {

using Engine = Sha256::Engine;

std::string hash(Engine engine, std::string_view data) {
  Sha256 sha(engine);
  sha.update(data);
  return sha.hex_digest();
}

// FIPS 180-2 / NIST CSRC example values.
struct Vector {
  std::string input;
  const char* hex;
};
const Vector kVectors[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnop"
     "qrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    {std::string(1'000'000, 'a'),
     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
};

TEST(Sha256, KnownVectorsOnBothEngines) {
  std::printf("SHA extensions on this CPU: %s\n", Sha256::hardware() ? "yes" : "no");
  for (auto engine : {Engine::best, Engine::wolfcrypt}) {
    for (const auto& v : kVectors) {
      EXPECT_EQ(hash(engine, v.input), v.hex) << "input of " << v.input.size() << " bytes";
    }
  }
  EXPECT_EQ(sha256_hex("abc"), kVectors[1].hex);
}

// The first CPU's flags as the kernel reports them (empty: none known).
std::set<std::string> cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line) && line.rfind("flags", 0) != 0) {
  }
  std::istringstream words(line);
  std::set<std::string> flags{std::istream_iterator<std::string>(words), {}};
  return flags;
}

// The engine is chosen from glibc's record of the CPU; the kernel's flags in
// /proc/cpuinfo must tell the same (a wrong answer is slow, or a crash).
TEST(Sha256, SeesTheShaExtensionsTheKernelReports) {
  const auto flags = cpu_flags();
  if (flags.empty()) GTEST_SKIP() << "no flags line in /proc/cpuinfo";
  const bool expected = flags.count("sha_ni") && flags.count("ssse3") && flags.count("sse4_1");
  EXPECT_EQ(Sha256::hardware(), expected);
}

#if TREX_WOLFSSL_ASM
// tools/wolfssl-patches/cpuid-once.patch reads each cpuid leaf once: the
// flags wolfCrypt picks its assembly by must still be the CPU's.
TEST(WolfCrypt, CpuFlagsAreTheKernels) {
  const auto flags = cpu_flags();
  if (flags.empty()) GTEST_SKIP() << "no flags line in /proc/cpuinfo";
  const std::pair<const char*, word32> known[] = {
      {"avx", CPUID_AVX1},      {"avx2", CPUID_AVX2},   {"rdrand", CPUID_RDRAND},
      {"rdseed", CPUID_RDSEED}, {"bmi2", CPUID_BMI2},   {"aes", CPUID_AESNI},
      {"adx", CPUID_ADX},       {"movbe", CPUID_MOVBE}, {"bmi1", CPUID_BMI1}};
  const word32 got = cpuid_get_flags();
  for (const auto& [name, bit] : known) {
    EXPECT_EQ((got & bit) != 0, flags.count(name) != 0) << name;
  }
}
#endif

// A read that produced nothing to send (a recording that refused it) hands
// on an empty view with no pointer: nothing to hash, and no memcpy from null
// (the asan preset's UBSan reports one).
TEST(Sha256, AnEmptyViewWithoutAPointerChangesNothing) {
  for (auto engine : {Engine::best, Engine::wolfcrypt}) {
    Sha256 sha(engine);
    sha.update("a");
    sha.update(std::string_view{});
    sha.update("bc");
    EXPECT_EQ(sha.hex_digest(), kVectors[1].hex);
  }
}

// Every length around the padding boundaries (55, 56, 63, 64, ...), fed in
// random pieces, must agree with wolfCrypt; a wrong round, schedule step or
// padding case shows up here on a CPU with SHA-NI.
TEST(Sha256, AgreesWithWolfcryptForAnyLengthAndSplit) {
  std::mt19937_64 rng(20261203);
  std::string data(4096, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (std::size_t len = 0; len <= 300; ++len) {
    std::string_view input(data.data(), len);
    Sha256 best(Engine::best);
    std::string_view rest = input;
    while (!rest.empty()) {
      const auto n = std::min<std::size_t>(rest.size(), rng() % 80);
      best.update(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    ASSERT_EQ(best.hex_digest(), hash(Engine::wolfcrypt, input)) << "length " << len;
  }
  EXPECT_EQ(hash(Engine::best, data), hash(Engine::wolfcrypt, data));
}

TEST(Sha256, DigestResetsForTheNextMessage) {
  for (auto engine : {Engine::best, Engine::wolfcrypt}) {
    Sha256 sha(engine);
    sha.update("some output that is not part of the next message");
    (void)sha.digest();
    sha.update("abc");
    EXPECT_EQ(sha.hex_digest(), kVectors[1].hex);
    EXPECT_EQ(sha.hex_digest(), kVectors[0].hex);  // nothing since the reset
  }
}

TEST(Sha256, MovedFromObjectsHashOn) {
  Sha256 a;
  a.update("ab");
  Sha256 b = std::move(a);
  b.update("c");
  EXPECT_EQ(b.hex_digest(), kVectors[1].hex);
}

// The pipe's thread must hash the chunks in the order given, all of them,
// whatever their sizes, also when more than kMaxQueued bytes are handed over
// at once (the caller then waits) and when chunks are refilled spares.
TEST(Sha256Pipe, AgreesWithOneThreadForAnyChunking) {
  std::mt19937_64 rng(20261204);
  std::string data(3 * Sha256Pipe::kMaxQueued + 12345, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  const std::string want = hash(Engine::wolfcrypt, data);
  for (bool threaded : {true, false}) {
    Sha256Pipe pipe(threaded);
    int reused = 0;
    for (std::string_view rest = data; !rest.empty();) {
      const auto n = std::min<std::size_t>(rest.size(), 1 + rng() % (128 * 1024));
      std::string chunk = pipe.spare();
      reused += !chunk.empty();
      chunk.assign(rest.substr(0, n));
      pipe.update(std::move(chunk));
      rest.remove_prefix(n);
    }
    EXPECT_EQ(pipe.hex_digest(), want) << (threaded ? "threaded" : "inline");
    pipe.update("abc");  // a second message after the digest
    EXPECT_EQ(pipe.hex_digest(), kVectors[1].hex);
    if (threaded) {
      EXPECT_GT(reused, 0);
    }
  }
}

TEST(Sha256Pipe, EndsWithChunksNotYetHashed) {
  Sha256Pipe pipe(true);
  for (int i = 0; i < 64; ++i) pipe.update(std::string(64 * 1024, 'x'));
  // The destructor stops the thread without waiting for the rest.
}

// The one size grammar (README "Sizes"): trexd's options, trexd.toml and the
// policy all read sizes through parse_size.
TEST(Size, OneGrammarForEveryFile) {
  const std::pair<const char*, std::uint64_t> good[] = {{"0", 0},
                                                        {"512", 512},
                                                        {"4K", 4096},
                                                        {"4k", 4096},
                                                        {"1KB", 1024},
                                                        {"1kb", 1024},
                                                        {"64MB", 64ull << 20},
                                                        {"512M", 512ull << 20},
                                                        {"1G", 1ull << 30},
                                                        {"2T", 2ull << 40},
                                                        {"0K", 0},
                                                        {"18446744073709551615", UINT64_MAX},
                                                        {"16777215T", 16777215ull << 40}};
  for (const auto& [text, bytes] : good) {
    auto r = parse_size(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.message();
    EXPECT_EQ(*r, bytes) << text;
  }
  for (const char* bad :
       {"", "M", "B", "1B", "1X", "1KK", "1KBB", "1.5G", "-1", "+1", "0x10", " 1", "1 G", "1G "}) {
    auto r = parse_size(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.message().find("not a size: '" + std::string(bad) + "'"), std::string::npos)
        << r.message();
  }
  for (const char* big : {"16777216T", "18446744073709551616", "99999999999999T"}) {
    auto r = parse_size(big);
    ASSERT_FALSE(r.ok()) << big;
    EXPECT_EQ(r.message(), "size too large: " + std::string(big));
  }
}

// The one bounded reader of small files (trexd.toml, the policy, trex's
// config): whole files up to the limit, an error kind the callers branch on.
TEST(ReadFile, WholeFilesUpToTheLimit) {
  char tmpl[] = "/tmp/trex-read-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(tmpl) << std::string(1000, 'x');
  const FileText exact = read_file(tmpl, 1000);
  ASSERT_TRUE(exact.ok()) << exact.message();
  EXPECT_EQ(exact.text, std::string(1000, 'x'));
  const FileText over = read_file(tmpl, 999);
  EXPECT_EQ(over.error, EFBIG);
  EXPECT_EQ(over.message(), "larger than 999 bytes");
  EXPECT_TRUE(over.text.empty());
  ::unlink(tmpl);
  EXPECT_EQ(read_file(tmpl, 1000).error, ENOENT);
  EXPECT_EQ(read_file(tmpl, 1000).message(), "No such file or directory");
  EXPECT_EQ(read_file("/tmp", 1000).error, EISDIR);
  // An endless file is refused after limit + 1 bytes, not read to its end.
  const FileText zero = read_file("/dev/zero", std::size_t{1} << 20);
  EXPECT_EQ(zero.error, EFBIG);
  EXPECT_EQ(zero.message(), "larger than 1 MiB");
}

}  // namespace
}  // namespace trex::util

// from_utc against glibc's timegm: every day from 1800 to 2200 (leap years,
// centuries, 2000, before 1970) at a time of day that moves with the day.
TEST(FromUtc, AgreesWithTimegmOnEveryDayOf400Years) {
  std::tm day{};
  day.tm_year = 1800 - 1900;
  day.tm_mday = 1;
  std::time_t t = timegm(&day);
  for (int i = 0; day.tm_year < 2200 - 1900; ++i) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    tm.tm_hour = i % 24;
    tm.tm_min = i % 60;
    tm.tm_sec = (i * 7) % 60;
    std::tm copy = tm;
    const auto want = std::chrono::system_clock::from_time_t(timegm(&copy));
    ASSERT_EQ(trex::util::from_utc(tm), want)
        << tm.tm_year + 1900 << "-" << tm.tm_mon + 1 << "-" << tm.tm_mday;
    t += 86400;
    day = tm;
  }
  std::tm epoch{};
  epoch.tm_year = 70;
  epoch.tm_mday = 1;
  EXPECT_EQ(trex::util::from_utc(epoch).time_since_epoch().count(), 0);
}

// Past a nanosecond time point's range (1678-2262) a date saturates instead
// of wrapping round: 9999-12-31, RFC 5280's "no expiry", wrapped to 1816
// and made a certificate expired. Its seconds and its text stay exact.
std::tm utc_fields(int year, int month, int day, int hour, int min, int sec) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  return tm;
}

TEST(FromUtc, DatesBeyondATimePointsRangeSaturate) {
  const std::tm end = utc_fields(9999, 12, 31, 23, 59, 59);
  EXPECT_EQ(trex::util::utc_seconds(end), 253402300799LL);
  EXPECT_EQ(trex::util::from_utc(end), std::chrono::system_clock::time_point::max());
  EXPECT_EQ(trex::util::rfc3339_utc_seconds(trex::util::utc_seconds(end)),
            "9999-12-31T23:59:59.000000Z");
  EXPECT_EQ(trex::util::from_utc(utc_fields(1600, 1, 1, 0, 0, 0)),
            std::chrono::system_clock::time_point::min());
  // The last whole second a time point holds is still exact.
  const std::tm last = utc_fields(2262, 4, 11, 23, 47, 15);
  EXPECT_EQ(trex::util::from_utc(last).time_since_epoch(),
            std::chrono::seconds(trex::util::utc_seconds(last)));
}

// A certificate's date digits are not range-checked ("20261399..." parses
// as month 13, day 99): such fields carry over exactly as timegm's do.
TEST(FromUtc, FieldsOutOfRangeCarryOverAsTimegmDoes) {
  for (int mon : {-13, -12, -1, 0, 11, 12, 13, 24, 98}) {
    for (int mday : {0, 1, 31, 99}) {
      for (int hour : {0, 24, 99}) {
        std::tm tm{};
        tm.tm_year = 126;
        tm.tm_mon = mon;
        tm.tm_mday = mday;
        tm.tm_hour = hour;
        tm.tm_min = 99;
        tm.tm_sec = 99;
        std::tm copy = tm;
        EXPECT_EQ(trex::util::from_utc(tm), std::chrono::system_clock::from_time_t(timegm(&copy)))
            << "month " << mon << " day " << mday << " hour " << hour;
      }
    }
  }
}
