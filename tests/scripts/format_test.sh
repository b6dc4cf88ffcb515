#!/usr/bin/env bash
# Our C++ sources follow .clang-format (clang-format 14, as Debian ships it).
# Fix with: git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v clang-format >/dev/null || { echo "format_test: clang-format is not installed" >&2; exit 1; }
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "format_test: not a git checkout, nothing to check"
  exit 0
fi
git ls-files -z '*.cpp' '*.hpp' | xargs -0 clang-format --dry-run --Werror
echo "format_test: $(git ls-files '*.cpp' '*.hpp' | wc -l) files formatted"
