# shellcheck shell=bash
# load_policy.sh: the wellbeing policy for load runs (bench/api, scripts/soak); sourced, never run.
# The shipped limits are right for people and wrong for a load test: associates deciding an item
# every few seconds would stop on rotation (10 in a row of one category) within seconds, and a
# long run would meet the continuous-review and daily caps. Those three are raised (to the
# loader's own maxima where it has them); tiers, weights, levels and queues stay as shipped.
#
# load_policy SRC DST VERSION: writes the derived policy to DST; returns 1 (saying why on
# stderr) when SRC no longer has the lines it rewrites.
load_policy() {
  local want
  sed -e "s/^version: .*/version: \"$3\"/" \
    -e 's/^\(  daily_cap_minutes:\) *240 .*/\1 1440             # load run: a whole day/' \
    -e 's/^\(  max_continuous_minutes:\) *50 .*/\1 480         # load run: the whole shift/' \
    -e 's/^\(  rotation_max_consecutive:\) *10 .*/\1 10000     # load run: the maximum/' \
    "$1" >"$2"
  for want in 'daily_cap_minutes: 1440' 'max_continuous_minutes: 480' \
    'rotation_max_consecutive: 10000'; do
    grep -q "^  $want " "$2" || {
      echo "load_policy: $1 changed: could not set '$want' (edit bench/load_policy.sh)" >&2
      return 1
    }
  done
}
