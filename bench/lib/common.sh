# Sourced by the bench/*/run.sh scripts, after they set `me` (their name in messages).
# usage() prints the calling script's header comment from "# Usage:" to the "# Exit" line.

die() {
  echo "$me: $*" >&2
  exit 1
}

usage() {
  sed -n '/^# Usage:/,/^# Exit/{s/^# \{0,1\}//p}' "$0" >&2
  exit 2
}

# positive <flag> <value>: dies unless value is a positive whole number (at most 6 digits).
positive() { [[ $2 =~ ^[1-9][0-9]{0,5}$ ]] || die "$1 must be a positive number, got '$2'"; }

# Opens /dev/kvm read-write without creating it (as root, a redirection would make a plain
# file); prints why it cannot be opened, nothing when it can.
kvm_error() {
  [[ -c /dev/kvm ]] || { echo "No such file or directory"; return; }
  local err
  err=$( (exec 3<>/dev/kvm) 2>&1) || echo "${err##*: }"
}
