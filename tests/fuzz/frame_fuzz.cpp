// Feeds arbitrary bytes, split at an input-chosen point, through the frame
// decoder and every message decoder; re-encodes what decodes and checks the
// round trip.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "trex/proto.hpp"

using namespace trex::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t split = std::min<std::size_t>(data[0], in.size());
  Decoder d;
  d.feed(in.substr(0, split));
  Frame f;
  auto consume = [&] {
    for (;;) {
      const auto st = d.next(f);
      if (st != Decoder::State::kFrame) return;
      if (f.payload.size() > kMaxPayload) std::abort();
      if (auto e = decode_exec(f.payload); e.ok()) {
        auto again = encode(*e);
        if (!again.ok() || *decode_exec(*again) != *e) std::abort();
      }
      if (auto x = decode_exit(f.payload); x.ok()) {
        if (*decode_exit(encode(*x)) != *x) std::abort();
        (void)client_exit_status(*x);
      }
      if (auto e = decode_error(f.payload); e.ok()) {
        if (*decode_error(encode(*e)) != *e) std::abort();
      }
      if (auto p = decode_put(f.payload); p.ok()) {
        if (*decode_put(encode(*p)) != *p) std::abort();
      }
      if (auto g = decode_get(f.payload); g.ok()) {
        if (*decode_get(encode(*g)) != *g) std::abort();
      }
      if (auto i = decode_file(f.payload); i.ok()) {
        if (*decode_file(encode(*i)) != *i) std::abort();
      }
      // An entry never names a path that leaves the folder it is listed in.
      if (auto t = decode_entry(f.payload); t.ok()) {
        if (*decode_entry(encode(*t)) != *t) std::abort();
        const std::string p = "/" + t->path + "/";
        if (t->path != "." &&
            (p.find("/../") != std::string::npos || p.find("//") != std::string::npos ||
             p.find("/./") != std::string::npos)) {
          std::abort();
        }
      }
      if (auto t = decode_terminal(f.payload); t.ok()) {
        auto again = encode(*t);
        if (!again.ok() || *decode_terminal(*again) != *t) std::abort();
      }
      if (auto w = decode_window(f.payload); w.ok()) {
        if (*decode_window(encode(*w)) != *w) std::abort();
      }
      (void)decode_signal(f.payload);
    }
  };
  consume();
  d.feed(in.substr(split));
  consume();
  return 0;
}
