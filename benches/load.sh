#!/usr/bin/env bash
# Load benchmark of the starter (`drone-extension-starter`) on loopback, with and without the verifying layer.
#
#   bash benches/load.sh            # 10 s per run, 2 threads, 32 connections
#   DURATION=30s CONNECTIONS=64 bash benches/load.sh
#   INSTRUCTIONS=1 bash benches/load.sh              # instructions per request (callgrind)
#   BASELINE=/path/to/older/starter bash benches/load.sh   # this build against another, same run
#   FEATURES=redis bash benches/load.sh              # the starter built with these features
#   FLOOR=1 bash benches/load.sh                     # the starter against the floors (benches/floor)
#   INSTRUCTIONS=1 FLOOR=1 bash benches/load.sh      # the instructions of the floors too
#   PIN=1 bash benches/load.sh                       # servers on CPU 0, wrk on CPU 1 (any mode)
#
# Needs wrk (`apt-get install wrk`) and python3. The same route and handler (`/global-secrets`,
# the Drone 0.8 global secrets endpoint) is measured three times: signed (behind the layer) and
# unsigned (DRONE_GLOBAL_SECRETS_UNSIGNED=true), both with RUST_LOG=warn, so the difference is the
# layer's cost: parsing, policy, Date, HMAC and the Digest over the body; then signed with the
# default per-request log line on (RUST_LOG=info, written to a file), the cost of logging. Requests are pre-signed once, before
# the run, with the current Date (valid for the 300 s window), exactly as Drone signs them.
# Each run reports the server's CPU time per request (utime + stime from /proc, 10 ms ticks):
# unlike the throughput, it hardly moves with the VM's neighbours or with how fast wrk is.
# Last, the cost of the metrics layer: signed with metrics (the default) and without
# (DRONE_METRICS=false), alternating, ROUNDS times each (default 3), with the median ratio.
#
# BASELINE=path also starts that starter (for example one built from an older commit) and
# measures it against this one in the same run, log line off and on, alternating, ROUNDS times
# each: requests per second and CPU time per request of each, and the median ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
# PIN=1: every server on CPU 0 and wrk (one thread unless THREADS says otherwise) on CPU 1, so
# that the two never take turns on a core. Unpinned, the server's CPU time also holds what the
# load generator's state costs it: the kernel's wake-up of a wrk thread asleep in epoll_wait
# (charged to the server's writev) and the preemptions of the server's workers by wrk on the
# same core; both grow when the server is the slower side. Pinned, what is left is the server's
# own work and its share of loopback TCP. See benches/README.md, "The floors".
if [ "${PIN:-}" = 1 ]; then
  [ "$(nproc)" -ge 2 ] || { echo "PIN=1 needs two CPUs" >&2; exit 2; }
  ON_SERVER="taskset -c 0" ON_CLIENT="taskset -c 1" THREADS=${THREADS:-1}
else
  ON_SERVER="" ON_CLIENT="" THREADS=${THREADS:-2}
fi
# The measuring wrk runs (warm-ups included) go through this, pinned with PIN=1.
load() { $ON_CLIENT wrk "$@"; }
CONNECTIONS=${CONNECTIONS:-32}
SECRET=bea26a2221fd8090ea38720fc445eca6
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
# STARTER=path measures another build (for example an older release) with the same requests.
if [ -z "${STARTER:-}" ]; then
  cargo build --release -p drone-extension-starter ${FEATURES:+--features "$FEATURES"} >/dev/null
  STARTER=${CARGO_TARGET_DIR:-target}/release/drone-extension-starter
fi

# A realistic 0.8 request body (about 1 KiB) and its Drone signature, as a wrk Lua script.
python3 - "$SECRET" "$WORK/signed.lua" "$WORK/unsigned.lua" <<'PY'
import base64, hashlib, hmac, json, sys
from email.utils import formatdate
secret, signed_path, unsigned_path = sys.argv[1].encode(), sys.argv[2], sys.argv[3]
repo = {"id": 1, "owner": "octocat", "name": "hello-world", "full_name": "octocat/hello-world",
        "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
        "link_url": "https://github.com/octocat/hello-world", "scm": "git",
        "clone_url": "https://github.com/octocat/hello-world.git", "default_branch": "master",
        "timeout": 60, "visibility": "public", "private": False, "trusted": False, "gated": False,
        "active": True, "allow_pr": True, "allow_push": True, "allow_deploys": False,
        "allow_tags": True, "last_build": 41, "config_file": ".drone.yml"}
build = {"id": 42, "number": 42, "parent": 0, "event": "push", "status": "pending", "error": "",
         "enqueued_at": 1577836800, "created_at": 1577836800, "started_at": 0, "finished_at": 0,
         "deploy_to": "", "commit": "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d", "branch": "master",
         "ref": "refs/heads/master", "refspec": "", "remote": "", "title": "",
         "message": "Update README.md", "timestamp": 1577836800, "sender": "octocat",
         "author": "octocat", "author_avatar": "https://avatars.githubusercontent.com/u/583231?v=4",
         "author_email": "octocat@github.com",
         "link_url": "https://github.com/octocat/hello-world/commit/7fd1a60b01f91b314f59955a4e4d4e80d8edf11d",
         "signed": False, "verified": True, "reviewed_by": "", "reviewed_at": 0}
body = json.dumps({"action": "created", "repo": repo, "build": build}, separators=(",", ":"))
date = formatdate(usegmt=True)
digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
lines = ["accept: application/json", "accept-encoding: identity", "content-type: application/json",
         f"date: {date}", f"digest: {digest}"]
mac = base64.b64encode(hmac.new(secret, "\n".join(lines).encode(), hashlib.sha256).digest()).decode()
sig = (f'keyId="hmac-key",algorithm="hmac-sha256",signature="{mac}",'
       'headers="accept accept-encoding content-type date digest"')
def lua(headers):
    out = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
    out += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    return "\n".join(out) + "\n"
common = {"Content-Type": "application/json", "Accept": "application/json", "Accept-Encoding": "identity"}
open(unsigned_path, "w").write(lua(common))
open(signed_path, "w").write(lua({**common, "Date": date, "Digest": digest, "Signature": sig}))
print(f"body: {len(body)} bytes", file=sys.stderr)
PY

declare -A PIDS
run() { # name port env...
  local name=$1 port=$2; shift 2
  env DRONE_BIND=127.0.0.1:$port DRONE_SECRET=$SECRET RUST_LOG=warn "$@" $ON_SERVER "$STARTER" >"$WORK/$name.log" 2>&1 &
  PIDS[$port]=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# INSTRUCTIONS=1: instead of the wrk runs, count the starter's instructions per signed request
# under callgrind (valgrind): the default (metrics on) with the per-request log line off and on,
# and without metrics, ROUNDS_I times each (default 2): instruction counts do not move with the
# VM's neighbours, so a cost of a few percent shows where throughput cannot.
#
# valgrind does not let a program see the CPU's SHA extensions (SHA-NI), so under callgrind
# sha2 runs its software SHA-256 (about 3.7 k instructions per 64-byte block; the Digest of the
# ~1.2 KiB body and the HMAC take 25 blocks), where the real CPU runs a few hundred instructions
# per block. Each count is therefore also given without that compression function, the part
# that measures the code around the crypto.
#
# KEEP=dir keeps each run's callgrind file (and its request count) in dir; MODULES=1 prints each
# run's cost per module (benches/callgrind_modules.py; build with
# CARGO_PROFILE_RELEASE_DEBUG=line-tables-only for the attribution by source file).
if [ "${INSTRUCTIONS:-}" = 1 ]; then
  command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
  declare -A TOTAL REST
  count() { # label port DRONE_METRICS RUST_LOG [command…] (the command: the starter by default)
    local label=$1 port=$2 metrics=$3 log=$4 out pid n ir sha file
    shift 4
    [ $# -gt 0 ] || set -- "$STARTER"
    env DRONE_BIND=127.0.0.1:$port DRONE_SECRET=$SECRET RUST_LOG=$log DRONE_METRICS=$metrics \
      valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$label" "$@" >"$WORK/$label.log" 2>&1 &
    pid=$!
    for _ in $(seq 600); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.2; done
    wrk -t1 -c2 -d3s -s "$WORK/signed.lua" "http://127.0.0.1:$port/global-secrets" >/dev/null # warm-up
    callgrind_control -z "$pid" >/dev/null
    out=$(wrk -t1 -c2 -d8s -s "$WORK/signed.lua" "http://127.0.0.1:$port/global-secrets")
    callgrind_control -d "$pid" >/dev/null
    sleep 1
    kill "$pid"; wait "$pid" 2>/dev/null || true
    if grep -q 'Non-2xx' <<<"$out"; then echo "$label: refused requests" >&2; exit 1; fi
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    file=$WORK/cg.$label.1
    ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$file")
    sha=$(callgrind_annotate --inclusive=yes "$file" 2>/dev/null |
      awk '/sha2::sha256::compress256 / && !seen {gsub(",", "", $1); print $1; seen = 1}')
    sha=${sha:-0}
    TOTAL[$label]=$(( ir / n )); REST[$label]=$(( (ir - sha) / n ))
    echo "$label: $n requests, $(( ir / n )) instructions per request" \
      "(SHA-256 compression $(( sha / n )), the rest $(( (ir - sha) / n )))"
    if [ -n "${KEEP:-}" ]; then cp "$file" "$KEEP/cg.$label"; echo "$n" >"$KEEP/n.$label"; fi
    if [ "${MODULES:-}" = 1 ]; then python3 benches/callgrind_modules.py "$file" "$n"; fi
  }
  for round in $(seq "${ROUNDS_I:-2}"); do
    count "log-off-$round" $((3930 + round)) true warn
    # The default per-request log line on (metrics on): the cost of logging.
    count "log-on-$round" $((3950 + round)) true info
    count "no-metrics-$round" $((3940 + round)) false warn
  done
  summary() { # label prefix
    local totals=() rests=() key
    for key in "${!TOTAL[@]}"; do
      [[ $key == "$2"-* ]] && totals+=("${TOTAL[$key]}") && rests+=("${REST[$key]}")
    done
    echo "$1: $(median "${totals[@]}") instructions per signed request," \
      "$(median "${rests[@]}") without the SHA-256 compression"
  }
  summary "log line off (metrics on)" log-off
  summary "log line on (metrics on) " log-on
  summary "metrics off, log line off" no-metrics
  # FLOOR=1: each floor of benches/floor once (their counts do not move from run to run).
  if [ "${FLOOR:-}" = 1 ]; then
    cargo build --release -p drone-extension-bench-floor >/dev/null
    FLOOR_BIN=${CARGO_TARGET_DIR:-target}/release/drone-extension-bench-floor
    count floor 3935 false warn "$FLOOR_BIN" 127.0.0.1:3935
    count scan 3936 false warn "$FLOOR_BIN" 127.0.0.1:3936 --scan
    count work 3937 false warn "$FLOOR_BIN" 127.0.0.1:3937 --work
  fi
  exit 0
fi

# The server's CPU time per request over a wrk run's output, from its ticks before and after.
cpu_per_request() { # wrk-output before after -> "requests/s cpu-us-per-request"
  python3 - "$1" "$2" "$3" "$(getconf CLK_TCK)" <<'PY'
import re, sys
out, before, after, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
total = int(re.search(r"(\d+) requests in", out).group(1))
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
print(f"{rate:.0f} {(after - before) / hz * 1e6 / total:.3f}")
PY
}

# A wrk run against the server on `port` with `script` (and more wrk options): its throughput and
# CPU time per request (utime + stime from /proc), split into user and system time, as
# "requests/s cpu user system" (µs per request); wrk's own output is left in $WORK/wrk.out.
cpu_split() { # port script [wrk options…]
  local port=$1 script=$2 pid=${PIDS[$1]} u0 s0 u1 s1 out rate total user system
  shift 2
  read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  load -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$@" -s "$script" \
    "http://127.0.0.1:$port/global-secrets" >"$WORK/wrk.out"
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  out=$(<"$WORK/wrk.out")
  read -r rate total <<<"$(cpu_per_request "$out" $((u0 + s0)) $((u1 + s1)))"
  read -r _ user <<<"$(cpu_per_request "$out" "$u0" "$u1")"
  read -r _ system <<<"$(cpu_per_request "$out" "$s0" "$s1")"
  echo "$rate $total $user $system"
}

# Warms each server on these ports up with the signed request for 3 s: a fresh process's first
# seconds cost more (heap growth, page faults).
warm_up() { # port…
  local port
  for port; do
    load -t"$THREADS" -c"$CONNECTIONS" -d3s -s "$WORK/signed.lua" "http://127.0.0.1:$port/global-secrets" >/dev/null
  done
}

# FLOOR=1: instead of the runs below, the starter (signed, log line off) against the floors of
# benches/floor: the bare hyper server that reads the body and answers `[]`, nothing else; the
# same with the signature verified and the JSON read without keeping it (`--scan`: less than
# any model can cost); and with the signature verified and the body decoded into the owned
# models (`--work`: the work no extension built on them can skip). All four fresh and warmed
# up, in turn (each round starts with the next one), ROUNDS times each: the CPU time per request
# of each, split into user and system time.
if [ "${FLOOR:-}" = 1 ]; then
  cargo build --release -p drone-extension-bench-floor >/dev/null
  FLOOR_BIN=${CARGO_TARGET_DIR:-target}/release/drone-extension-bench-floor
  run starter 3921
  declare -A NAMES=([3921]=starter [3920]=floor [3919]=scan [3918]=work) CPUS=()
  for port in 3920 3919 3918; do
    option=${NAMES[$port]/#floor/}
    DRONE_SECRET=$SECRET $ON_SERVER "$FLOOR_BIN" 127.0.0.1:$port ${option:+--$option} \
      >"$WORK/${NAMES[$port]}.log" 2>&1 &
    PIDS[$port]=$!
  done
  sleep 0.5
  signed() { # port -> as cpu_split, every request answered 2xx
    local measured
    measured=$(cpu_split "$1" "$WORK/signed.lua")
    if grep -q 'Non-2xx' "$WORK/wrk.out"; then echo "port $1: refused requests" >&2; exit 1; fi
    echo "$measured"
  }
  ports=(3921 3920 3919 3918)
  warm_up "${ports[@]}"
  for round in $(seq "${ROUNDS:-3}"); do
    echo "== round $round"
    for k in 0 1 2 3; do
      port=${ports[$(( (round - 1 + k) % 4 ))]}
      read -r rate cpu user system <<<"$(signed "$port")"
      CPUS[$port]="${CPUS[$port]:-} $cpu"
      echo "  ${NAMES[$port]}: $rate req/s, $cpu us CPU/request (user $user, system $system)"
    done
  done
  # shellcheck disable=SC2086 # the lists are numbers separated by spaces
  echo "CPU per request (median): starter $(median ${CPUS[3921]}) us, floor $(median ${CPUS[3920]}) us," \
    "scan $(median ${CPUS[3919]}) us, work $(median ${CPUS[3918]}) us"
  exit 0
fi

run signed 3901
run unsigned 3902 DRONE_GLOBAL_SECRETS_UNSIGNED=true
# The default: one info line per request, written to a file by the starter's background writer.
run logged 3903 RUST_LOG=info
# Two fresh servers for the metrics comparison (3901 has just served the first run). For an A/A
# check of the method, NOMETRICS=true starts the second one with metrics too.
run metrics 3905
run nometrics 3904 DRONE_METRICS=${NOMETRICS:-false}

# Sanity: the pre-signed request is accepted, the unsigned one refused by the signed server.
check() { wrk -t1 -c1 -d1s -s "$1" "$2" | grep -E 'Non-2xx' && { echo "unexpected non-2xx for $1 on $2" >&2; exit 1; } || true; }
check "$WORK/signed.lua" http://127.0.0.1:3901/global-secrets
check "$WORK/unsigned.lua" http://127.0.0.1:3902/global-secrets
check "$WORK/signed.lua" http://127.0.0.1:3904/global-secrets
check "$WORK/signed.lua" http://127.0.0.1:3905/global-secrets

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
for name in signed unsigned logged; do
  case $name in signed) port=3901 ;; unsigned) port=3902 ;; logged) port=3903 ;; esac
  script=$WORK/$([ $name = unsigned ] && echo unsigned || echo signed).lua
  echo "== $name (wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency)"
  read -r _ cpu user system <<<"$(cpu_split "$port" "$script" --latency)"
  grep -E 'Requests/sec|^ +50%|^ +99%|Non-2xx|requests in' "$WORK/wrk.out"
  echo "  server CPU time: $cpu us per request (user $user, system $system)"
done
echo "log lines written by the logged run: $(grep -c 'global-secrets' "$WORK/logged.log" || true)"

# The metrics layer: the same signed requests with and without it, alternating which goes
# first. Throughput on a shared VM moves by several percent from run to run, so the server's own
# CPU time per request (utime + stime from /proc, 10 ms ticks) is reported too: neighbours slow
# both alike, and it does not depend on how fast wrk is.
ROUNDS=${ROUNDS:-3}
measure() { # port -> "requests/s cpu-us-per-request"
  local rate cpu
  read -r rate cpu _ <<<"$(cpu_split "$1" "$WORK/signed.lua")"
  echo "$rate $cpu"
}
warm_up 3905 3904
rates=(); cpus=()
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then
    with=$(measure 3905); without=$(measure 3904)
  else
    without=$(measure 3904); with=$(measure 3905)
  fi
  read -r rw cw <<<"$with"; read -r ro co <<<"$without"
  rates+=("$(python3 -c "print(f'{$rw / $ro:.4f}')")")
  cpus+=("$(python3 -c "print(f'{$cw / $co:.4f}')")")
  echo "== metrics round $round: with $rw req/s, $cw us CPU/request; without $ro req/s, $co us CPU/request"
done
echo "metrics: median throughput ratio with/without $(median "${rates[@]}"), median CPU-per-request ratio $(median "${cpus[@]}")"

# BASELINE=path: this starter against that one, log line off and on, alternating which goes
# first, on fresh servers warmed up alike.
if [ -n "${BASELINE:-}" ]; then
  kill "${PIDS[@]}" 2>/dev/null || true
  STARTER_THIS=$STARTER
  run this-off 3911
  run this-on 3913 RUST_LOG=info
  STARTER=$BASELINE
  run base-off 3912
  run base-on 3914 RUST_LOG=info
  STARTER=$STARTER_THIS
  for port in 3911 3912 3913 3914; do
    check "$WORK/signed.lua" "http://127.0.0.1:$port/global-secrets"
    warm_up "$port"
  done
  for log in off on; do
    case $log in off) this=3911 base=3912 ;; on) this=3913 base=3914 ;; esac
    rates=(); cpus=(); these=(); bases=()
    for round in $(seq "$ROUNDS"); do
      if [ $((round % 2)) = 1 ]; then
        a=$(measure $this); b=$(measure $base)
      else
        b=$(measure $base); a=$(measure $this)
      fi
      read -r ra ca <<<"$a"; read -r rb cb <<<"$b"
      these+=("$ca"); bases+=("$cb")
      rates+=("$(python3 -c "print(f'{$ra / $rb:.3f}')")")
      cpus+=("$(python3 -c "print(f'{$ca / $cb:.3f}')")")
      echo "== log line $log, round $round: this $ra req/s, $ca us CPU/request; baseline $rb req/s, $cb us CPU/request"
    done
    echo "log line $log: CPU per request this $(median "${these[@]}") us, baseline $(median "${bases[@]}") us" \
      "(median ratio $(median "${cpus[@]}")); median throughput ratio $(median "${rates[@]}")"
  done
fi
