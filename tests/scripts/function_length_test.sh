#!/usr/bin/env bash
# No function in src/ over 60 lines (tools/function_length.py), and the
# checker itself finds a long function where brace tricks could hide it.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v python3 >/dev/null || { echo "function_length_test: python3 is not installed" >&2; exit 1; }
python3 tools/function_length.py

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  echo 'namespace a {'
  echo 'struct S { int x{1}; S() : x{2} {} };'
  echo 'const char* k = R"x({{{ // not a brace)x";'
  echo "int f(int v) noexcept {"
  echo "  int n = 1'000;  // '{'"
  for i in $(seq 1 59); do echo "  v += '}' + $i;  /* } */"; done
  echo '  return v;'
  echo '}'
  echo 'auto g = [](int v) {'
  for i in $(seq 1 10); do echo "  v += $i;"; done
  echo '  return v; };'
  echo '}  // namespace a'
} >"$tmp/long.cpp"
out=$(python3 tools/function_length.py "$tmp/long.cpp" || true)
expected="$tmp/long.cpp:4: f: 63 lines"
if [ "$out" != "$expected" ]; then
  echo "function_length_test: expected '$expected', got:" >&2
  echo "$out" >&2
  exit 1
fi
python3 tools/function_length.py --max 63 "$tmp/long.cpp" >/dev/null
echo "function_length_test: ok"
