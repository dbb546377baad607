#!/usr/bin/env bash
# Builds and runs every fuzz target (or the ones named) for SECONDS each, one after the other,
# on the stable toolchain (libFuzzer without a sanitizer runtime; see README.md).
# Exits non-zero if any target finds a crash (its input is saved under fuzz/artifacts/<target>/).
#
#   fuzz/run.sh 5                    # CI: a few seconds each
#   fuzz/run.sh 600 token_machine    # one target, ten minutes
set -euo pipefail
cd "$(dirname "$0")"

usage="usage: fuzz/run.sh SECONDS [TARGET...]"
seconds=${1:?$usage}
shift
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "$usage" >&2; exit 2; }
command -v cargo-fuzz >/dev/null || {
  echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
  exit 2
}

# Stable toolchain: no sanitizer (ASan needs nightly's -Zsanitizer); keep debug assertions
# and overflow checks so that an arithmetic overflow is a crash, not a silent wrap.
flags=(--sanitizer none --debug-assertions)

if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

mkdir -p artifacts
echo "== cargo fuzz build ${flags[*]}"
if ! cargo fuzz build "${flags[@]}" >artifacts/build.log 2>&1; then
  cat artifacts/build.log >&2
  exit 1
fi

failed=()
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target" "seeds/$target"
  log="artifacts/$target/last-run.log"
  echo "== fuzz $target for ${seconds}s"
  # New inputs go to corpus/<target> (git-ignored); seeds/<target> (committed) is only read.
  if cargo fuzz run "${flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=64 -max_len=8192 \
      -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" || true
  else
    failed+=("$target")
    echo "!! $target failed; the end of $log:" >&2
    tail -n 40 "$log" >&2
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzzing: no crash in ${targets[*]}"
