# Sourced by man_test.sh and completion_test.sh: the options a program's
# --help text lists, one per line (-x and --long-name; values and the
# words of the descriptions are left out, and so are what follows " -- ",
# a command's words, asides in parentheses and 'quoted examples', which
# name other programs' or commands' options).
#   help_options FILE
help_options() {
  sed -E -e 's/ -- .*//' -e 's/\([^)]*\)//g' -e "s/(^| )'[^']*'/\\1/g" "$1" | grep -oE -- '(^|[][ ,|(])--?[[:alpha:]][[:alnum:]-]*' |
    sed -E 's/^[][ ,|(]//' | sort -u
}

# The build folder the tests run against: the folder of $TREXD_BIN (ctest sets it).
build_dir() {
  [[ -n ${TREXD_BIN:-} && -x $TREXD_BIN ]] || { echo "FAIL: TREXD_BIN is not set or not executable" >&2; exit 1; }
  (cd "$(dirname "$TREXD_BIN")" && pwd)
}
