#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine (Debian 12, as root, no systemd needed):
# munged, slurmctld and slurmd for node "localhost" with the machine's CPUs and memory and one
# GPU declared as a generic resource (gpu:1 backed by /dev/null: it lets jobs that *request* a
# GPU be scheduled and tested; there is no real GPU behind it). Partition "local" (default).
#
#   sudo .ci/slurm-up.sh        # idempotent: installs what is missing, starts what is stopped
#   .ci/slurm-down.sh           # stops the daemons by their pid files
#
# State, logs and pid files: $SLURM_LOCAL_DIR (default /var/lib/slurm-local). The config goes
# to /etc/slurm/slurm.conf (where the Debian commands look); an existing slurm.conf that this
# script did not write is never overwritten. No accounting daemon (slurmdbd): `sacct` and
# `sacctmgr` do not work here, so the Snakemake profile workflow/profiles/slurm-local queries
# job states with `squeue`, which sees finished jobs for MinJobAge = 600 s.
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/var/lib/slurm-local}
CONF=/etc/slurm/slurm.conf
MARK="# written by bayespec .ci/slurm-up.sh"
PACKAGES=(munge slurmctld slurmd slurm-client)

die() { echo "slurm-up: $*" >&2; exit 1; }
alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

[[ $(id -u) == 0 ]] || die "must run as root (it installs packages and starts daemons)"

# --- packages (Debian's munge and SLURM 22.05; ~15 s)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get"
    echo "slurm-up: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
fi

# --- configuration
mkdir -p "$DIR"/ctld "$DIR"/d "$DIR"/log "$DIR"/run /etc/slurm
if [[ -e $CONF ]] && ! grep -qF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script; not touching a real cluster's config"
fi
cpus=$(nproc --all)
# the memory slurmd itself measures (a larger RealMemory would make the node INVALID)
mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
[[ -n $mem ]] || die "slurmd -C did not report RealMemory"
ctl_host=$(hostname -s)  # slurmctld insists on its own host name; the address avoids DNS
cat >"$CONF.tmp" <<EOF
$MARK
ClusterName=bayespec-local
SlurmctldHost=$ctl_host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# no cgroups and no systemd on CI machines
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
# no slurmdbd; AccountingStorageTRES=gres/gpu would need it
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# finished jobs stay visible to squeue for 10 min (the Snakemake plugin polls with squeue)
MinJobAge=600
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/d
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:1 State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
changed=0
if cmp -s "$CONF.tmp" "$CONF"; then rm "$CONF.tmp"; else mv "$CONF.tmp" "$CONF"; changed=1; fi
# a GRES without a device file makes the node INVALID; /dev/null stands in for the GPU
cat >/etc/slurm/gres.conf <<EOF
$MARK
NodeName=localhost Name=gpu Count=1 File=/dev/null
EOF
# task/affinity and proctrack/linuxproc need no cgroup.conf; an empty one silences a warning
[[ -e /etc/slurm/cgroup.conf ]] || echo "$MARK" >/etc/slurm/cgroup.conf

# --- munge (authentication between the commands and the daemons)
if [[ ! -s /etc/munge/munge.key ]]; then
    mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
if ! alive /run/munge/munged.pid; then
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid \
        || die "munged did not start (see /var/log/munge/munged.log)"
fi
for _ in $(seq 50); do munge -n </dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
munge -n </dev/null | unmunge >/dev/null || die "munge does not work"

# --- SLURM daemons
if ! alive "$DIR/run/slurmctld.pid"; then
    slurmctld || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
elif ((changed)); then
    scontrol reconfigure || die "scontrol reconfigure failed (see $DIR/log/slurmctld.log)"
fi
if ! alive "$DIR/run/slurmd.pid"; then
    slurmd -N localhost || die "slurmd did not start (see $DIR/log/slurmd.log)"
fi

# --- wait until the node takes jobs
state=
for _ in $(seq 60); do
    state=$(sinfo -h -N -n localhost -o %T 2>/dev/null || true)
    case $state in
        idle | mixed | allocated) break ;;
        *drain* | down* | *invalid*)
            scontrol update NodeName=localhost State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.5
done
case $state in
    idle | mixed | allocated) ;;
    *) die "node localhost is '${state:-unknown}', not idle after 30 s; logs: $DIR/log" ;;
esac
sinfo -N -o "%N %P %T %c %m %G"
