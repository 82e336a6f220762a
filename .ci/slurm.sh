#!/usr/bin/env bash
# A single-node Slurm for the tests, without systemd.
#   .ci/slurm.sh install   install slurm-wlm and munge (idempotent)
#   .ci/slurm.sh start     write slurm.conf for this host, start munged,
#                          slurmctld and slurmd, wait until the node is idle
#                          (does nothing if they already run)
#   .ci/slurm.sh stop      stop them again
# Exits non-zero with a one-line reason when Slurm cannot run here; the
# tests that use it then skip with that reason.
set -euo pipefail
STATE=/var/run/conductor-slurm
CONF=/etc/slurm/slurm.conf

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && command -v salloc >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "slurm.sh: cannot install slurm-wlm here (not root or no apt-get)" >&2
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

# Whether the daemon whose pid file is $1 runs (a zombie does not count).
live() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/status" ] && ! grep -q '^State:.*Z' "/proc/$pid/status"
}
running() { live "$STATE/slurmctld.pid" && live "$STATE/slurmd.pid" && live /run/munge/munged.pid; }

start() {
  [ "$(id -u)" = 0 ] || { echo "slurm.sh: needs root" >&2; exit 1; }
  # Several tests start Slurm at once: one start at a time, so one munged,
  # one slurmctld and one slurmd (two munged race for the socket's lock).
  exec 9>/run/conductor-slurm-start.lock
  flock -w 120 9 || { echo "slurm.sh: another start holds the lock" >&2; exit 1; }
  command -v slurmctld >/dev/null || { echo "slurm.sh: slurm-wlm is not installed (.ci/slurm.sh install)" >&2; exit 1; }
  if running && sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc'; then
    return 0
  fi
  mkdir -p "$STATE" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
  if ! live /run/munge/munged.pid; then
    runuser -u munge -- /usr/sbin/munged 9>&-
    for _ in $(seq 1 100); do
      live /run/munge/munged.pid && [ -S /run/munge/munge.socket.2 ] && break
      sleep 0.1
    done
  fi
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)
  cat >"$CONF" <<CONF
# Written by conductor's .ci/slurm.sh: one node, no systemd, no cgroups.
ClusterName=conductor-ci
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
InactiveLimit=0
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  # The daemons must not inherit the start lock (fd 9), or it is held while they run.
  live "$STATE/slurmctld.pid" || /usr/sbin/slurmctld -i 9>&-
  live "$STATE/slurmd.pid" || /usr/sbin/slurmd 9>&-
  for _ in $(seq 1 150); do
    if sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc'; then
      return 0
    fi
    sleep 0.2
  done
  echo "slurm.sh: the node did not become idle: $(sinfo -h 2>&1 | head -1); see /var/log/slurm/" >&2
  exit 1
}

stop() {
  scontrol shutdown >/dev/null 2>&1 || true
  for d in slurmd slurmctld; do
    if [ -s "$STATE/$d.pid" ]; then kill "$(cat "$STATE/$d.pid")" 2>/dev/null || true; fi
  done
  if [ -s /run/munge/munged.pid ]; then kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true; fi
}

case "${1:-install}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
