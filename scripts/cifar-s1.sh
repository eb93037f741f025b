#!/usr/bin/env bash
# CIFAR_S1 (docs/math.md §4.2, the paper's protocol) on several machines with the Redis queue (docs/sweeps.md):
# one machine coordinates (`sbn experiment train --suite cifar10-s1 … --queue …`: it plans the jobs, records their
# ends and writes the report), every machine — the coordinator's too — runs `sbn worker` on the same queue.
# docs/results.md "CIFAR_S1 on several machines" walks through it. Run it again with the same arguments and it
# continues where it stopped (the suite folder and the queue remember what is done).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/cifar-s1.sh coordinator --data DIR --queue redis://HOST:PORT[/DB] [--out DIR] [--seeds N]
                                       [--epochs N] [--methods LIST] [--start-redis] [--dry-run]
       scripts/cifar-s1.sh worker --queue redis://HOST:PORT[/DB] [--concurrency K] [--dry-run]

coordinator  plans the suite's jobs on the queue, waits for the workers, writes report.html and train.json in --out
             (default experiments/cifar10-s1); --start-redis first starts redis-server on this machine on the
             queue's port (its data in --out/redis, a password from $SBN_REDIS_PASSWORD when set)
worker       takes jobs from the queue and trains them (run one on every machine, the coordinator's included)
--data       the folder of the CIFAR-10 binary batches (data_batch_1.bin … data_batch_5.bin, test_batch.bin)
--seeds      seeds per method (default 3); --epochs: override the suite's 2000 epochs (e.g. 200 for a shorter run)
--dry-run    print the commands instead of running them
$SBN: the sbn command (default: bin/sbn.js of this checkout)
EOF
}

fail() {
  echo "cifar-s1.sh: $*" >&2
  exit 2
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${SBN:-}" ]]; then
  read -r -a sbn <<<"$SBN"
else
  sbn=(node "$(cd "$here/.." && pwd)/bin/sbn.js")
fi

role="${1:-}"
case "$role" in
  coordinator | worker) shift ;;
  -h | --help) usage; exit 0 ;;
  *) fail "expected coordinator or worker as the first argument${role:+, got \"$role\"} (see --help)" ;;
esac

data='' queue='' out='experiments/cifar10-s1' seeds=3 epochs='' methods='' concurrency=1 start_redis=0 dry=0
need() { [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || fail "$1: expects a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data) need "$@"; data="$2"; shift 2 ;;
    --queue) need "$@"; queue="$2"; shift 2 ;;
    --out) need "$@"; out="$2"; shift 2 ;;
    --seeds) need "$@"; seeds="$2"; shift 2 ;;
    --epochs) need "$@"; epochs="$2"; shift 2 ;;
    --methods) need "$@"; methods="$2"; shift 2 ;;
    --concurrency) need "$@"; concurrency="$2"; shift 2 ;;
    --start-redis) start_redis=1; shift ;;
    --dry-run) dry=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) fail "unknown option \"$1\" (see --help)" ;;
  esac
done

# the queue URL: redis:// or rediss://, a host and a port (sbn checks the rest and that Redis answers)
[[ -n "$queue" ]] || fail "--queue: give the queue every machine uses, e.g. redis://10.0.0.5:6379"
[[ "$queue" =~ ^rediss?://([^@/]*@)?([^:/@]+):([0-9]+)(/[0-9]+)?$ ]] ||
  fail "--queue: expected redis://HOST:PORT[/DB] (or rediss://), got \"$queue\""
port="${BASH_REMATCH[3]}"
positive() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || fail "$1: expected a positive whole number, got \"$2\""; }

run() {
  if ((dry)); then
    printf '%q ' "$@"
    echo
  else
    "$@"
  fi
}

if [[ "$role" == worker ]]; then
  positive --concurrency "$concurrency"
  [[ -z "$data$epochs$methods" && "$start_redis" == 0 ]] ||
    fail "worker: --data, --epochs, --methods and --start-redis belong to the coordinator"
  run "${sbn[@]}" worker --queue "$queue" --concurrency "$concurrency"
  exit $?
fi

[[ -n "$data" ]] || fail "--data: give the folder of the CIFAR-10 binary batches (cifar-10-batches-bin)"
[[ -d "$data" ]] || fail "--data: $data: no such folder"
for f in data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin; do
  [[ -f "$data/$f" ]] || fail "--data: $data/$f: missing (expected the CIFAR-10 binary version's six batch files)"
done
positive --seeds "$seeds"
[[ -z "$epochs" ]] || positive --epochs "$epochs"

if ((start_redis)); then
  command -v redis-server >/dev/null || fail "--start-redis: no redis-server on this machine (apt-get install redis-server)"
  redis_dir="$out/redis"
  [[ "$redis_dir" == /* ]] || redis_dir="$PWD/$redis_dir"
  ((dry)) || mkdir -p "$redis_dir"
  # append-only file: a restarted Redis keeps the queue's state; reachable from the other machines
  args=(--port "$port" --dir "$redis_dir" --appendonly yes --daemonize yes --bind 0.0.0.0)
  if [[ -n "${SBN_REDIS_PASSWORD:-}" ]]; then
    # the password goes in on stdin as a line of configuration ("-"), so that `ps` never shows it; quoted as
    # Redis's configuration format quotes (backslash and double quote escaped)
    quoted=${SBN_REDIS_PASSWORD//\\/\\\\}
    quoted=${quoted//\"/\\\"}
    if ((dry)); then
      echo "redis-server - $(printf '%q ' "${args[@]}")  # stdin: requirepass from \$SBN_REDIS_PASSWORD"
    else
      printf 'requirepass "%s"\n' "$quoted" | redis-server - "${args[@]}"
    fi
  else
    echo "cifar-s1.sh: Redis without a password (set SBN_REDIS_PASSWORD on a network you do not trust)" >&2
    args+=(--protected-mode no)
    run redis-server "${args[@]}"
  fi
fi

train=("${sbn[@]}" experiment train --suite cifar10-s1 --data "$data" --out "$out" --seeds "$seeds" --queue "$queue")
[[ -z "$epochs" ]] || train+=(--epochs "$epochs")
[[ -z "$methods" ]] || train+=(--methods "$methods")
run "${train[@]}"
