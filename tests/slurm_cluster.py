"""A private single-node SLURM cluster on this machine, for the tests: munged, slurmctld and slurmd with a
minimal ``slurm.conf`` in a temporary directory, on free ports, stopped afterwards.

It needs SLURM's daemons and clients (Debian: ``apt-get install slurmctld slurmd slurm-client munge``; `.ci/run`
installs them) and root (slurmd starts jobs as their owner). Where either is missing, or the daemons do not
come up, :func:`start_cluster` raises ``pytest.skip`` with the reason, SLURM's own log lines included. Clients
(``sbatch``, ``squeue``, dask-jobqueue) find the cluster through ``SLURM_CONF``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TOOLS = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "sinfo", "squeue", "scancel", "scontrol")
PARTITION = "debug"
#: The partition's time limit (jobs asking for more are refused before submission).
MAX_TIME = "2:00:00"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024 * 8 // 10
    return 4000


@dataclass
class SlurmCluster:
    """A running private cluster: its directory, ``slurm.conf``, node and partition, and the processes started."""

    root: Path
    conf: Path
    node: str
    partition: str = PARTITION
    processes: list[subprocess.Popen] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *command: str, check: bool = True) -> str:
        """A SLURM client command against this cluster; its stdout."""
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **self.env}, timeout=30)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")
        return done.stdout

    def jobs(self, name: str | None = None, every_state: bool = False) -> list[tuple[str, str]]:
        """(job id, state) of the jobs pending or running now (with ``every_state``, also those ended in the
        last ``MinJobAge``), of job name ``name`` if given."""
        command = (["squeue", "-h", "-o", "%i %T"] + (["-n", name] if name else [])
                   + (["--states=all"] if every_state else []))
        return [tuple(line.split()) for line in self.run(*command).splitlines() if line.strip()]

    def batch_script(self, job: str) -> str:
        """The script SLURM ran for ``job``."""
        return self.run("scontrol", "write", "batch_script", job, "-")

    def log(self, name: str, lines: int = 15) -> str:
        path = self.root / "log" / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""

    def stop(self) -> None:
        subprocess.run(["scancel", "--full", "-u", "root"], env={**os.environ, **self.env}, capture_output=True,
                       timeout=30)
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def start_cluster(root: Path) -> SlurmCluster:
    """Start munged (a private socket), slurmctld and slurmd in ``root``; wait until the node is idle."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"SLURM is not installed here ({', '.join(missing)} not found; Debian: apt-get install "
                    "slurmctld slurmd slurm-client munge)")
    if os.geteuid() != 0:
        pytest.skip("a private SLURM cluster needs root here (slurmd starts jobs as their owner)")
    for name in ("state", "spool", "log", "munge"):
        (root / name).mkdir(parents=True, exist_ok=True)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    munge_socket = root / "munge" / "munge.socket"
    node = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    conf.write_text(f"""ClusterName=localcond-tests
SlurmctldHost={node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
KillWait=5
MinJobAge=600
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
NodeName={node} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={_memory_mb()} State=UNKNOWN
PartitionName={PARTITION} Nodes={node} Default=YES MaxTime={MAX_TIME} State=UP
""")
    env = {"SLURM_CONF": str(conf)}
    cluster = SlurmCluster(root, conf, node, env=env)
    daemons = [["munged", "--foreground", "--force", f"--socket={munge_socket}", f"--key-file={key}",
                f"--pid-file={root}/munge/munged.pid", f"--log-file={root}/log/munged.log",
                f"--seed-file={root}/munge/munged.seed"],
               ["slurmctld", "-D", "-c", "-f", str(conf)],
               ["slurmd", "-D", "-f", str(conf), "-N", node]]
    for command in daemons:
        cluster.processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                                  env={**os.environ, **env}, start_new_session=True))
        time.sleep(0.5)
        if cluster.processes[-1].poll() is not None:
            error = cluster.processes[-1].stderr.read().decode(errors="replace").strip()
            cluster.stop()
            pytest.skip(f"{command[0]} did not start: {error or cluster.log(command[0])}")
    deadline = time.time() + 60
    while time.time() < deadline:
        state = cluster.run("sinfo", "-h", "-o", "%T", check=False).strip()
        if state == "idle":
            return cluster
        time.sleep(0.5)
    messages = f"slurmctld: {cluster.log('slurmctld')}\nslurmd: {cluster.log('slurmd')}"
    cluster.stop()
    pytest.skip(f"the private SLURM cluster did not come up in 60 s:\n{messages}")
