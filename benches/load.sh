#!/usr/bin/env bash
# Load benchmark of the starter (`drone-extension-starter`) on loopback, with and without the verifying layer.
#
#   bash benches/load.sh            # 10 s per run, 2 threads, 32 connections
#   DURATION=30s CONNECTIONS=64 bash benches/load.sh
#
# Needs wrk (`apt-get install wrk`) and python3. The same route and handler (`/global-secrets`,
# the Drone 0.8 global secrets endpoint) is measured three times: signed (behind the layer) and
# unsigned (DRONE_GLOBAL_SECRETS_UNSIGNED=true), both with RUST_LOG=warn, so the difference is the
# layer's cost: parsing, policy, Date, HMAC and the Digest over the body; then signed with the
# default per-request log line on (RUST_LOG=info, written to a file), the cost of logging. Requests are pre-signed once, before
# the run, with the current Date (valid for the 300 s window), exactly as Drone signs them.
# Last, the cost of the metrics layer: signed with metrics (the default) and without
# (DRONE_METRICS=false), alternating, ROUNDS times each (default 3), with the median ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
SECRET=bea26a2221fd8090ea38720fc445eca6
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
# STARTER=path measures another build (for example an older release) with the same requests.
if [ -z "${STARTER:-}" ]; then
  cargo build --release -p drone-extension-starter >/dev/null
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
  env DRONE_BIND=127.0.0.1:$port DRONE_SECRET=$SECRET RUST_LOG=warn "$@" "$STARTER" >"$WORK/$name.log" 2>&1 &
  PIDS[$port]=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
}
# INSTRUCTIONS=1: instead of the wrk runs, count the starter's instructions per signed request
# under callgrind (valgrind), with and without metrics and with the per-request log line, twice
# each: instruction counts do not
# move with the VM's neighbours, so a cost of a few percent shows where throughput cannot.
if [ "${INSTRUCTIONS:-}" = 1 ]; then
  command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
  count() { # label port DRONE_METRICS [RUST_LOG]
    local out pid n ir file
    env DRONE_BIND=127.0.0.1:$2 DRONE_SECRET=$SECRET RUST_LOG=${4:-warn} DRONE_METRICS=$3 \
      valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$1" "$STARTER" >"$WORK/$1.log" 2>&1 &
    pid=$!
    for _ in $(seq 600); do curl -fs "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
    wrk -t1 -c2 -d3s -s "$WORK/signed.lua" "http://127.0.0.1:$2/global-secrets" >/dev/null # warm-up
    callgrind_control -z "$pid" >/dev/null
    out=$(wrk -t1 -c2 -d8s -s "$WORK/signed.lua" "http://127.0.0.1:$2/global-secrets")
    callgrind_control -d "$pid" >/dev/null
    sleep 1
    kill "$pid"; wait "$pid" 2>/dev/null || true
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$WORK/cg.$1.1")
    echo "$1: $n requests, $(( ir / n )) instructions per request"
  }
  for round in 1 2; do
    count "with-$round" $((3930 + round)) true
    count "without-$round" $((3940 + round)) false
    # The default per-request log line on (metrics on): the cost of logging.
    count "logged-$round" $((3950 + round)) true info
  done
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
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$script" \
    "http://127.0.0.1:$port/global-secrets" | grep -E 'Requests/sec|^ +50%|^ +99%|Non-2xx|requests in'
done
echo "log lines written by the logged run: $(grep -c 'global-secrets' "$WORK/logged.log" || true)"

# The metrics layer: the same signed requests with and without it, alternating which goes
# first. Throughput on a shared VM moves by several percent from run to run, so the server's own
# CPU time per request (utime + stime from /proc, 10 ms ticks) is reported too: neighbours slow
# both alike, and it does not depend on how fast wrk is.
ROUNDS=${ROUNDS:-3}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
measure() { # port -> "requests/s cpu-us-per-request"
  local pid=${PIDS[$1]} before after out
  before=$(ticks "$pid")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$WORK/signed.lua" "http://127.0.0.1:$1/global-secrets")
  after=$(ticks "$pid")
  python3 - "$out" "$before" "$after" "$(getconf CLK_TCK)" <<'PY'
import re, sys
out, before, after, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
total = int(re.search(r"(\d+) requests in", out).group(1))
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
print(f"{rate:.0f} {(after - before) / hz * 1e6 / total:.3f}")
PY
}
# Warm both up first: a fresh process's first seconds cost more (heap growth, page faults).
for port in 3905 3904; do wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -s "$WORK/signed.lua" "http://127.0.0.1:$port/global-secrets" >/dev/null; done
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
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "metrics: median throughput ratio with/without $(median "${rates[@]}"), median CPU-per-request ratio $(median "${cpus[@]}")"
