#!/usr/bin/env bash
# Checks that every option a config fragment asks for is in the final kernel .config.
#
# Kconfig drops a requested option without complaint when one of its dependencies is off, so
# `make olddefconfig` succeeding proves nothing. This compares line by line:
#   CONFIG_FOO=value       must appear with exactly that value
#   # CONFIG_FOO is not set  must not appear as =y, =m or any other value
# Prints every mismatch and exits 1 if there is one.
#
# Usage: check-config.sh <fragment> <.config>
set -euo pipefail

if (($# != 2)); then
  echo "usage: check-config.sh <fragment> <.config>" >&2
  exit 2
fi
fragment=$1
config=$2
for f in "$fragment" "$config"; do
  [[ -r $f ]] || { echo "check-config: cannot read $f" >&2; exit 2; }
done

declare -A have=()
while IFS= read -r line; do
  if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
    have[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
  fi
done <"$config"

requested=0
problems=()
while IFS= read -r line; do
  if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
    name=${BASH_REMATCH[1]}
    want=${BASH_REMATCH[2]}
    got=${have[$name]-}
    ((++requested))
    [[ $got == "$want" ]] || problems+=("$name: want $want, got ${got:-not set}")
  elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
    name=${BASH_REMATCH[1]}
    ((++requested))
    [[ -z ${have[$name]+x} ]] || problems+=("$name: want not set, got ${have[$name]}")
  fi
done <"$fragment"

if ((${#problems[@]})); then
  echo "check-config: ${#problems[@]} of $requested options in $fragment did not reach $config:" >&2
  printf '  %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "check-config: all $requested options in $(basename "$fragment") are as requested" >&2
