#!/usr/bin/env bash
# Stop the single-node SLURM cluster of .ci/slurm-up.sh: slurmd, slurmctld, munged, each by
# its pid file (nothing else is touched). Idempotent: a daemon that is not running is skipped.
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/var/lib/slurm-local}

stop() {  # stop NAME PIDFILE: SIGTERM, wait up to 10 s, then SIGKILL
    local name=$1 pidfile=$2 pid
    [[ -s $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "slurm-down: $name ($pid) ignored SIGTERM; killing it" >&2
            kill -KILL "$pid"
        fi
        echo "slurm-down: stopped $name ($pid)"
    fi
    rm -f "$pidfile"
}

stop slurmd "$DIR/run/slurmd.pid"
stop slurmctld "$DIR/run/slurmctld.pid"
stop munged /run/munge/munged.pid
