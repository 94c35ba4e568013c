# Sourced by the benchmark scripts. A timed run writes into a directory no run has used: on
# ext4, creating files right after many were deleted is slow (`recently_deleted`; writing 1 M
# people's fix lists took 6.1 s of thread time instead of 0.65 s, docs/BENCHMARKS.md,
# twenty-fifth session), so removing the last run's directory just before a timed run, or
# letting the run replace its files, times the file system, not lamsach.
#
#   out=$(fresh "$dir/peers-run")   # prints $dir/peers-run.<date and time>, not yet made
#   ...timed runs...
#   prune "$dir/peers-run"          # after the timings: every peers-run.* but the newest
fresh() {
  printf '%s.%s\n' "$1" "$(date +%Y%m%d-%H%M%S-%N)"
}

prune() {
  local base
  for base in "$@"; do
    # Names sort by their date and time; the newest is kept for a look.
    find "$(dirname "$base")" -maxdepth 1 -name "$(basename "$base").*" -print0 \
      | sort -z | head -z -n -1 | xargs -0 -r rm -rf
  done
}
