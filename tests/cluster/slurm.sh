#!/usr/bin/env bash
# A real single-node SLURM cluster on localhost, from Debian's packages (slurmctld, slurmd,
# slurm-client, munge), for tests/test_slurm_cluster.py and `make test-cluster`.
#
#   tests/cluster/slurm.sh start DIR   # write DIR/slurm.conf, start munged, slurmctld, slurmd;
#                                      # wait until sinfo shows the node idle; print SLURM_CONF=...
#   tests/cluster/slurm.sh stop DIR    # stop the three daemons started by `start DIR`
#
# Everything (config, munge key and socket, spool, state, logs, pid files) lives under DIR. The
# one file outside it is /etc/slurm/slurm.conf, a marked one-line Include of DIR/slurm.conf
# (see system_conf below), so one such cluster runs at a time per machine. Needs root: slurmd
# must run as root to start jobs. SLURM_TEST_PORT (default 6817; slurmd uses the next port)
# moves the cluster off ports already taken.
#
# Choices forced by containers and by having no accounting database:
# - ProctrackType=proctrack/linuxproc, TaskPlugin=task/none: no cgroup delegation in containers.
# - AccountingStorageType=accounting_storage/none (no slurmdbd/MariaDB): `sacct` answers "Slurm
#   accounting storage is disabled", so the Snakemake executor must query job states with
#   `squeue`. MinJobAge=3600 keeps finished jobs in squeue for an hour, so it sees COMPLETED.
# - GPUs: the node declares two GPU slots (GresTypes=gpu, Gres=gpu:2) so that `sbatch --gpus=1`
#   from profiles/slurm is accepted and scheduled exactly as on a GPU cluster, one slot per job,
#   while the work runs on the CPU (the micro study sets device: cpu). Slurm 22.05 drops a GPU
#   without a device file, so each slot's File= is a link to /dev/null or /dev/zero; nothing
#   opens them, no CUDA device exists, and Slurm's CUDA_VISIBLE_DEVICES=0 points at nothing.
set -euo pipefail

cmd=${1:?usage: slurm.sh start|stop DIR}
dir=${2:?usage: slurm.sh start|stop DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
host=$(hostname -s)
port=${SLURM_TEST_PORT:-6817}
gpus=2
# Slurm's compiled-in config path. Job steps need it: inside a job the Snakemake jobstep executor
# launches `srun` with every SLURM_* variable removed (SLURM_CONF included), so srun finds the
# cluster only through this file. It is written as a one-line Include of DIR/slurm.conf, marked
# as ours, and removed by `stop`; an existing file that is not ours (a real cluster node) is
# never touched: `start` fails instead.
system_conf=/etc/slurm/slurm.conf
marker="# csbench test cluster: $dir"

stop_pidfile() {
  local file=$1 pid
  [[ -s $file ]] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

if [[ $cmd == stop ]]; then
  # Cancel leftover jobs first so slurmd does not leave step daemons behind.
  if [[ -s $dir/slurmctld.pid ]]; then
    SLURM_CONF=$dir/slurm.conf timeout 10 scancel --full --user "$(id -un)" 2>/dev/null || true
  fi
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  stop_pidfile "$dir/munged.pid"
  if [[ -f $system_conf ]] && grep -qxF "$marker" "$system_conf"; then rm -f "$system_conf"; fi
  exit 0
fi
[[ $cmd == start ]] || { echo "usage: slurm.sh start|stop DIR" >&2; exit 2; }

(( EUID == 0 )) || { echo "needs root: slurmd must run as root to start jobs" >&2; exit 5; }
for tool in munged slurmctld slurmd sinfo sbatch squeue; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install slurmctld slurmd slurm-client munge)" >&2; exit 3; }
done

mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
chmod 700 "$dir/munge"

# munge: own key, socket, pid and seed files. --force: munged refuses a socket whose parent
# directories are not searchable by everyone, and pytest's temp dirs are private (0700).
if [[ ! -s $dir/munge/munge.key ]]; then
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
fi
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munged.pid" --seed-file="$dir/munge/munged.seed" --log-file="$dir/log/munged.log"

# Memory the node offers: what the machine has, less a margin for the OS and the Snakemake driver.
total_mb=$(free -m | awk '/^Mem:/ {print $2}')
real_mb=$(( total_mb - 2048 > 1024 ? total_mb - 2048 : 1024 ))
cpus=$(nproc)

# Placeholder GPU slots (see the top): links to character devices that exist everywhere.
mkdir -p "$dir/dev"
devices=(/dev/null /dev/zero)
: > "$dir/gres.conf"
for i in $(seq 0 $((gpus - 1))); do
  ln -sfn "${devices[$i]}" "$dir/dev/gpu$i"
  echo "NodeName=$host Name=gpu File=$dir/dev/gpu$i" >> "$dir/gres.conf"
done

cat > "$dir/slurm.conf" <<EOF
ClusterName=csbench-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=debug
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=3600
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mb Gres=gpu:$gpus State=UNKNOWN
PartitionName=gpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

if [[ -f $system_conf ]] && ! grep -qF "# csbench test cluster: " "$system_conf"; then
  echo "$system_conf exists and is not a csbench test cluster's: refusing to replace it" >&2
  exit 4
fi
mkdir -p "$(dirname "$system_conf")"
printf '%s\nInclude %s\n' "$marker" "$dir/slurm.conf" > "$system_conf"

export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"

for _ in $(seq 60); do
  state=$(sinfo --noheader --nodes="$host" --format=%T 2>/dev/null || true)
  if [[ $state == idle ]]; then
    echo "SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 1
done
echo "node $host did not become idle (state: '${state:-?}'); logs:" >&2
for log in "$dir"/log/slurm*.log; do echo "== $log" >&2; tail -n 30 "$log" >&2; done
exit 1
