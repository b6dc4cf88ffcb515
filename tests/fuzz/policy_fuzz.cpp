// libFuzzer target: arbitrary text as a policy file. Parsing must return an
// Error or a Policy, never crash or hang; a policy that loads must then
// decide, explain, lint and summarise a few fixed requests without crashing,
// and explain must agree with decide.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "trex/policy.hpp"

namespace {

using trex::policy::Identity;
using trex::policy::Policy;
using trex::policy::Request;

void exercise(const Policy& policy) {
  const Identity identities[] = {{"alice", {"ops"}}, {"bob", {}}, {"", {"dev", "ops"}}};
  const Request requests[] = {
      {false, {"uptime"}, ""},
      {false, {"/usr/bin/systemctl", "status", "nginx.service"}, ""},
      {false, {"rm", "-rf", "/"}, ""},
      {false, {"cat", std::string(2000, 'a')}, ""},
      {false, {"ls", "a\nb"}, ""},
      {false, {}, ""},
      {true, {}, "id; uname -a"},
  };
  for (const Identity& who : identities) {
    for (const Request& what : requests) {
      const trex::policy::Decision d = policy.decide(who, what);
      const std::string last = policy.explain(who, what).back();
      const bool agrees =
          d.allowed ? last.rfind("decision: allow", 0) == 0 : last == "decision: deny: " + d.reason;
      if (!agrees) std::abort();
    }
  }
  (void)policy.lint(true);
  (void)policy.summary();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  trex::Result<Policy> policy = Policy::parse(text, "fuzz.toml");
  if (policy) {
    exercise(*policy);
  } else if (policy.message().empty()) {
    std::abort();  // every error says what is wrong
  }
  return 0;
}
