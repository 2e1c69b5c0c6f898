#!/usr/bin/env bash
# Every C and C++ file in the tree is as .clang-format says (clang-format 14, Debian 12's).
# Prints the files that are not and how to fix them; exit status 1 if there is one.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.c' '*.h' '*.cpp' '*.hpp' | grep -v '/node_modules/')
else
  mapfile -t files < <(find agent bench daemon drivers examples pkcs11-module tests web-extension \
    -path '*/node_modules' -prune -o \( -name '*.c' -o -name '*.h' -o -name '*.cpp' -o -name '*.hpp' \) -print)
fi
unformatted=()
for f in "${files[@]}"; do
  clang-format-14 --dry-run -Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if ((${#unformatted[@]})); then
  printf 'not formatted: %s\n' "${unformatted[@]}"
  echo "fix with: clang-format-14 -i ${unformatted[*]}"
  exit 1
fi
echo "${#files[@]} files formatted as .clang-format says"
