#!/usr/bin/env bash
# Runs a command with a working /dev/kvm on machines that have none (our PVM
# guests): boots Debian's kernel in QEMU/TCG with an emulated AMD CPU that has
# SVM + nested paging, loads kvm_amd there, mounts this machine's root
# filesystem over 9p, chroots into it and runs COMMAND in the current
# directory. stdout/stderr of COMMAND are streamed; the exit status is
# COMMAND's. See docs/nested-kvm.md.
#
# Usage: scripts/with-nested-kvm.sh [options] -- COMMAND [ARGS...]
#        scripts/with-nested-kvm.sh [options] --probe
#   --probe         boot the L1 VM and check that /dev/kvm works there; exit 0
#                   if so, else 125 and the one-line reason (scripts/test.sh)
#   --memory MiB    L1 memory (default 2048)
#   --cpus N        L1 vCPUs (default 2, MTTCG)
#   --timeout SEC   kill the L1 VM after SEC seconds (default 0 = none; exit 124)
#   --idle-timeout SEC
#                   kill the L1 VM when COMMAND has written nothing to stdout
#                   or stderr for SEC seconds (default 0 = never; exit 124)
#   --cpu MODEL     QEMU CPU model (default max: AMD vendor, SVM, NPT under TCG)
#   --verbose       also stream the L1 serial console (with boot step times)
#                   to stderr
#   --private-tmp   give L1 its own tmpfs /tmp (AF_UNIX sockets do not work on
#                   the 9p-shared host /tmp); a current directory under /tmp
#                   stays visible there (the host's, over 9p)
#   --keep-tmp DIR  with --private-tmp, keep the host directory DIR visible at
#                   its path too if it is under /tmp (repeatable; others are
#                   ignored, as they are shared anyway)
#   --keep          keep the job directory (console log, outputs) for debugging
# Env: KVRUN_CACHE_DIR (default /var/cache/kvrun), KVRUN_NESTED_KERNEL,
#      KVRUN_NESTED_QEMU (default qemu-system-x86_64), KVRUN_NESTED_JOB_ROOT
#      (default /var/tmp), KVRUN_NESTED_9P_CACHE (default loose; mmap = no
#      caching of host files in L1, slower).
# Exit status: COMMAND's, 124 on timeout, 125 if the nested VM itself failed
# (one line "nested KVM unavailable: <why>" on stderr). On a timeout the end
# of L1's console (its kernel warnings and a heartbeat every 30 s, which tell
# a stalled L1 from a stuck command) goes to stderr.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
me=with-nested-kvm

memory=2048
cpus=2
timeout_s=0
idle_timeout_s=0
cpu_model=max
verbose=0
keep=0
probe=0
private_tmp=0
keep_tmp=()

usage() { sed -n '/^# Usage:/,/^[^#]/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2; exit 2; }
unavailable() { echo "nested KVM unavailable: $*" >&2; exit 125; }

while (($#)); do
  case $1 in
    --memory) memory=${2:?--memory needs MiB}; shift 2 ;;
    --cpus) cpus=${2:?--cpus needs N}; shift 2 ;;
    --timeout) timeout_s=${2:?--timeout needs seconds}; shift 2 ;;
    --idle-timeout) idle_timeout_s=${2:?--idle-timeout needs seconds}; shift 2 ;;
    --cpu) cpu_model=${2:?--cpu needs a model}; shift 2 ;;
    --verbose) verbose=1; shift ;;
    --keep) keep=1; shift ;;
    --probe) probe=1; shift ;;
    --private-tmp) private_tmp=1; shift ;;
    --keep-tmp) keep_tmp+=("${2:?--keep-tmp needs a directory}"); shift 2 ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) echo "$me: unknown option '$1'" >&2; usage ;;
  esac
done
if ((probe)); then
  (($# == 0)) || { echo "$me: --probe takes no COMMAND" >&2; exit 2; }
  # init has already checked that kvm_amd loaded and /dev/kvm exists; the
  # probe command checks that it opens read-write.
  set -- /bin/sh -c '[ -c /dev/kvm ] && exec 3<>/dev/kvm'
elif (($# == 0)); then
  echo "$me: no COMMAND given" >&2; usage
fi
[[ $memory =~ ^[0-9]+$ && $cpus =~ ^[0-9]+$ && $timeout_s =~ ^[0-9]+$ && $idle_timeout_s =~ ^[0-9]+$ ]] ||
  { echo "$me: --memory/--cpus/--timeout/--idle-timeout take integers" >&2; exit 2; }

qemu=${KVRUN_NESTED_QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null || unavailable "$qemu not installed (apt-get install qemu-system-x86)"
((EUID == 0)) || unavailable "must run as root (the 9p share of / uses security_model=passthrough)"

boot_files=$("$here/nested/build-l1.sh") || unavailable "could not build the L1 kernel/initramfs (see messages above)"
read -r vmlinuz initrd <<<"$boot_files"

# Not under /tmp, so that --private-tmp cannot hide it from L1.
job_root=${KVRUN_NESTED_JOB_ROOT:-/var/tmp}
job=$(mktemp -d "$job_root/kvrun-nested.XXXXXX")
job=$(cd "$job" && pwd -P)   # the guest sees the host root: use a physical path
qemu_pid=
tail_pids=()
cleanup() {
  local rc=$?
  if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  for p in "${tail_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if ((keep)); then echo "$me: job directory kept: $job" >&2; else rm -rf -- "$job"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The job: environment (NUL-separated), working directory and argv.
# KVRUN_NESTED_KERNEL_DIR lets tests inside find the cached Debian kernel.
KVRUN_NESTED=1 KVRUN_NESTED_KERNEL_DIR=${vmlinuz%/*} env -0 >"$job/env"
: >"$job/stdout"
: >"$job/stderr"
cwd=$(pwd -P)
# With --private-tmp, L1 binds these host directories from the 9p share back onto its own /tmp,
# one physical path a line: the current directory, so that the command can start there, and
# each --keep-tmp one.
if ((private_tmp)); then
  : >"$job/keep-tmp"
  for dir in "$cwd" "${keep_tmp[@]}"; do
    physical=$(cd -- "$dir" 2>/dev/null && pwd -P) || { echo "$me: no directory $dir" >&2; exit 2; }
    case $physical in
      /tmp) echo "$me: --private-tmp hides the host /tmp, which $dir is" >&2; exit 2 ;;
      /tmp/*) ;;
      *) continue ;;
    esac
    [[ $physical != *$'\n'* ]] || { echo "$me: a newline in the path $dir" >&2; exit 2; }
    printf '%s\n' "$physical" >>"$job/keep-tmp"
  done
fi
{
  echo '#!/bin/bash'
  printf 'exec </dev/null >>%q 2>>%q\n' "$job/stdout" "$job/stderr"
  printf 'while IFS= read -r -d "" kv; do export -- "$kv" 2>/dev/null || true; done <%q\n' "$job/env"
  printf 'cd -- %q || { echo "%s: cannot cd to %s inside the nested VM" >&2; exit 125; }\n' "$cwd" "$me" "$cwd"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} >"$job/run.sh"

extra_args=
((verbose)) && extra_args=" kvrun.debug=1"
((private_tmp)) && extra_args+=" kvrun.private_tmp=1"
[[ -n ${KVRUN_NESTED_9P_CACHE:-} ]] && extra_args+=" kvrun.cache=$KVRUN_NESTED_9P_CACHE"
qemu_cmd=(
  "$qemu" -nodefaults -no-user-config -display none -no-reboot
  -accel tcg,thread=multi,tb-size=256
  -machine q35 -cpu "$cpu_model" -smp "$cpus" -m "$memory"
  -kernel "$vmlinuz" -initrd "$initrd"
  -append "console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off kvrun.job=$job${extra_args}"
  -serial "file:$job/console.log"
  -fsdev local,id=hostroot,path=/,security_model=passthrough,multidevs=remap
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
)
if ((timeout_s)); then qemu_cmd=(timeout -k 5 "$timeout_s" "${qemu_cmd[@]}"); fi

start_ns=$(date +%s%N)
"${qemu_cmd[@]}" </dev/null >"$job/qemu.log" 2>&1 &
qemu_pid=$!

tail -n +1 -s 0.2 -F --pid="$qemu_pid" "$job/stdout" 2>/dev/null &
tail_pids+=($!)
tail -n +1 -s 0.2 -F --pid="$qemu_pid" "$job/stderr" >&2 2>/dev/null &
tail_pids+=($!)
if ((verbose)); then
  tail -n +1 -s 0.2 -F --pid="$qemu_pid" "$job/console.log" 2>/dev/null | sed -u 's/^/[L1] /' >&2 &
  tail_pids+=($!)
fi
# Output is the only sign of progress a stalled L1 cannot fake; the stall
# itself is noted in the job directory for the verdict below.
if ((idle_timeout_s)); then
  (
    last_change=$SECONDS last_sizes=
    while kill -0 "$qemu_pid" 2>/dev/null; do
      sleep 5
      sizes=$(stat -c %s "$job/stdout" "$job/stderr" 2>/dev/null | tr '\n' ' ')
      if [[ $sizes != "$last_sizes" ]]; then
        last_sizes=$sizes last_change=$SECONDS
      elif ((SECONDS - last_change >= idle_timeout_s)); then
        : >"$job/idle-timeout"
        kill "$qemu_pid" 2>/dev/null
        break
      fi
    done
  ) &
  tail_pids+=($!)
fi

qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=
for p in "${tail_pids[@]}"; do wait "$p" 2>/dev/null || true; done
tail_pids=()
end_ns=$(date +%s%N)

if [[ -s $job/l1-start-uptime ]] && ((verbose)); then
  echo "$me: L1 VM: command started $(cat "$job/l1-start-uptime")s after kernel start;" \
       "total $(((end_ns - start_ns) / 1000000)) ms wall" >&2
fi

result=
[[ -f $job/result ]] && result=$(cat "$job/result")
console_tail() { tail -n "${1:-15}" "$job/console.log" 2>/dev/null | sed 's/^/  L1> /' >&2 || true; }
case $result in
  "exit "*)
    status=${result#exit }
    if ((probe && status != 0)); then
      unavailable "/dev/kvm exists in the L1 VM but cannot be opened read-write"
    fi
    exit "$status" ;;
  "error "*)
    console_tail
    unavailable "${result#error }" ;;
esac
if [[ -f $job/idle-timeout ]]; then
  echo "$me: no output for ${idle_timeout_s}s; L1 VM killed. The end of its console:" >&2
  console_tail 40
  exit 124
fi
if ((timeout_s)) && ((qemu_rc == 124)); then
  echo "$me: timed out after ${timeout_s}s; L1 VM killed. The end of its console:" >&2
  console_tail 40
  exit 124
fi
# No result file: look for the console markers (e.g. 9p never came up).
marker=$(grep -a -o 'NESTED-\(EXIT-STATUS\|ERROR\)=.*' "$job/console.log" 2>/dev/null | tail -n1 || true)
case $marker in
  NESTED-EXIT-STATUS=*) exit "${marker#NESTED-EXIT-STATUS=}" ;;
  NESTED-ERROR=*) console_tail; unavailable "${marker#NESTED-ERROR=}" ;;
esac
sed 's/^/  qemu> /' "$job/qemu.log" >&2 || true
console_tail
if grep -q 'terminating on signal' "$job/qemu.log" 2>/dev/null; then
  unavailable "the L1 VM (QEMU) was killed by a signal"
fi
unavailable "L1 VM ended without a result (qemu exit status $qemu_rc)"
