"""One-shot GPU check: what localcond's GPU paths give on this machine, as one table (and JSON).

On a machine with a GPU (``python benchmarks/gpu_check.py --json gpu.json``):

- **OpenMM**: steps/s at N = 4000 and 40 000 (c = 0.05, l_B = 10, dt = 0.005) with each ``coulomb_method``
  (ion-pairs, all-particles) on the GPU platform (CUDA, else OpenCL or HIP), against the CPU platform at
  N = 4000 measured in the same process; simulated τ per GPU-hour.
- **HOOMD-blue** on the GPU, where it is installed (the same sizes and options).
- **nn-ensemble**: seconds per full-batch epoch at the paper's training size (108 systems × 25 000
  environments × 468 SOAP features, MLP 100-100) on CUDA against the CPU (``--systems``/``--environments``
  to change it), and seconds per optimiser step of the default loop (64 environments per system).
- **Agreement**: OpenMM's GPU forces against the CPU platform's on one configuration (RMS difference over RMS
  force), and the first-epoch loss on CUDA against the CPU's (relative difference).

Without a GPU it says what it found (OpenMM's platforms, torch's CUDA, HOOMD) and exits 0. ``--cpu`` runs the
same code on the CPU at small sizes: a test of this script, not a measurement.

    python benchmarks/gpu_check.py --json gpu.json
    python benchmarks/gpu_check.py --cpu --json /tmp/check.json        # the script's own test, any machine
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GPU_PLATFORMS = ("CUDA", "OpenCL", "HIP")


def inventory() -> dict[str, Any]:
    """What this machine offers: OpenMM's platforms, torch's CUDA device, HOOMD's GPU."""
    found: dict[str, Any] = {"openmm_platforms": [], "torch_cuda": None, "hoomd_gpu": None}
    try:
        import openmm

        found["openmm_platforms"] = [openmm.Platform.getPlatform(i).getName()
                                     for i in range(openmm.Platform.getNumPlatforms())]
    except ImportError:
        found["openmm_platforms"] = None
    try:
        import torch

        found["torch_cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else False
    except ImportError:
        pass
    try:
        import hoomd

        found["hoomd_gpu"] = bool(hoomd.device.GPU.is_available())
    except ImportError:
        pass
    return found


def gpu_platform(found: dict[str, Any]) -> str | None:
    """The first GPU platform OpenMM offers, or None."""
    return next((p for p in GPU_PLATFORMS if p in (found["openmm_platforms"] or [])), None)


def openmm_rate(n: int, method: str, platform: str, steps: int, directory: Path) -> dict[str, Any]:
    """Steps/s of the bare OpenMM loop for ``n`` beads, and simulated τ per hour."""
    from simulators import TIMESTEP, bare_steps_per_second, job_for, prepared

    job = job_for(n, 0.05, steps, steps, directory)
    options = {"platform": platform, "coulomb_method": method}
    if platform != "CPU":
        options["precision"] = "mixed"
    _, session = prepared("openmm", options, job, threads=1)
    rate = bare_steps_per_second(session, steps, max(1, steps // 5))
    return {"what": f"OpenMM {platform}, N = {n}, {method}", "steps_per_s": rate,
            "tau_per_hour": rate * TIMESTEP * 3600}


def openmm_force_agreement(n: int, platform: str, directory: Path) -> float:
    """RMS difference of ``platform``'s forces from OpenMM's Reference platform's (double precision, a plain loop;
    independent of the CPU and CUDA platforms' code), relative to the RMS force."""
    import numpy as np

    from core.md.electrolyte import build_topology, initial_positions
    from plugins.simulators.openmm_model import CoulombSettings, build_system, evaluate
    from simulators import job_for

    job = job_for(n, 0.05, 10, 10, directory)
    topology = build_topology(job.system)
    positions = initial_positions(topology, np.random.default_rng(3))
    system = build_system(topology, bjerrum_length=job.system.bjerrum_length, kT=1.0, wca_cutoff=2 ** (1 / 6),
                          bond_k=100.0, bond_r0=1.0, coulomb=CoulombSettings(3.0, 5e-4))
    _, reference = evaluate(system, positions, "Reference")
    _, forces = evaluate(system, positions, platform)
    return float(np.sqrt(np.mean(np.sum((forces - reference) ** 2, axis=1)) / np.mean(np.sum(reference ** 2, axis=1))))


def nn_epoch(device_name: str, systems: int, environments: int, dim: int) -> dict[str, Any]:
    """Seconds per full-batch epoch and per default (64 environments per system) step, and the first loss."""
    import numpy as np
    import torch

    from nn_epoch import synthetic_data, time_epochs
    from plugins.models.nn_ensemble import SystemBatch

    device = torch.device(device_name)
    data = synthetic_data(systems, environments, dim)
    batch = SystemBatch(data, np.zeros(dim, np.float32), np.ones(dim, np.float32), 1.0, device)
    full, loss = time_epochs(lambda net: batch.system_means(net), batch, [100, 100], 3, device)
    small = synthetic_data(systems, min(64, environments), dim)
    step_batch = SystemBatch(small, np.zeros(dim, np.float32), np.ones(dim, np.float32), 1.0, device)
    step, _ = time_epochs(lambda net: step_batch.system_means(net), step_batch, [100, 100], 3, device)
    return {"what": f"nn-ensemble on {device_name}: {systems} × {environments} × {dim}", "epoch_s": full,
            "default_step_s": step, "first_loss": loss}


def hoomd_rate(n: int, method: str, steps: int, directory: Path) -> dict[str, Any]:
    """Steps/s of HOOMD-blue on the GPU (bare loop)."""
    from simulators import TIMESTEP, bare_steps_per_second, job_for, prepared

    job = job_for(n, 0.05, steps, steps, directory)
    _, session = prepared("hoomd", {"device": "GPU", "coulomb_method": method}, job, threads=1)
    rate = bare_steps_per_second(session, steps, max(1, steps // 5))
    return {"what": f"HOOMD GPU, N = {n}, {method}", "steps_per_s": rate, "tau_per_hour": rate * TIMESTEP * 3600}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the table here")
    parser.add_argument("--cpu", action="store_true", help="run the same code on the CPU at small sizes (a test)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000, 40000])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--systems", type=int, default=108)
    parser.add_argument("--environments", type=int, default=25000)
    parser.add_argument("--dim", type=int, default=468)
    args = parser.parse_args()
    console = Console(width=160)
    found = inventory()
    platform = "CPU" if args.cpu else gpu_platform(found)
    device = "cpu" if args.cpu else ("cuda" if found["torch_cuda"] else None)
    if args.cpu:
        args.sizes, args.steps, args.systems, args.environments, args.dim = [500], 100, 4, 200, 16
    rows: list[dict[str, Any]] = []
    if platform is None and device is None and not found["hoomd_gpu"]:
        console.print(f"no GPU here: OpenMM platforms {found['openmm_platforms']}, torch CUDA "
                      f"{found['torch_cuda']}, HOOMD GPU {found['hoomd_gpu']}; nothing to measure (see --cpu)")
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        if platform is not None:
            baseline = openmm_rate(args.sizes[0], "ion-pairs", "CPU", args.steps, directory)
            rows.append({**baseline, "against": "1.00× (baseline)"})
            for n in args.sizes:
                for method in ("ion-pairs", "all-particles"):
                    row = openmm_rate(n, method, platform, args.steps, directory)
                    rows.append({**row, "against": f"{row['steps_per_s'] / baseline['steps_per_s']:.2f}× CPU N = "
                                                   f"{args.sizes[0]}"})
            rows.append({"what": f"OpenMM {platform} forces against CPU, N = {args.sizes[0]}",
                         "rms_relative_difference": openmm_force_agreement(args.sizes[0], platform, directory)})
        if found["hoomd_gpu"] and not args.cpu:
            for n in args.sizes:
                for method in ("ion-pairs", "all-particles"):
                    rows.append(hoomd_rate(n, method, args.steps, directory))
        if device is not None:
            cpu = nn_epoch("cpu", args.systems, args.environments, args.dim) if device != "cpu" else None
            measured = nn_epoch(device, args.systems, args.environments, args.dim)
            if cpu is not None:
                rows.append({**cpu, "against": "1.00× (baseline)"})
                measured["against"] = f"{cpu['epoch_s'] / measured['epoch_s']:.2f}× faster per epoch"
                measured["loss_relative_difference"] = abs(measured["first_loss"] - cpu["first_loss"]) / abs(
                    cpu["first_loss"])
            rows.append(measured)
    if not rows:
        if args.json:
            args.json.write_text(json.dumps({"machine": found, "cpu_test_run": args.cpu, "rows": []}, indent=1))
        return 0
    table = Table(title=f"GPU check{' (CPU run of the script: not a measurement)' if args.cpu else ''}: {found}")
    for column in ("what", "steps/s", "τ per hour", "s / epoch", "s / default step", "agreement", "against"):
        table.add_column(column, justify="left" if column == "what" else "right")

    def number(value: Any, spec: str) -> str:
        return format(value, spec) if isinstance(value, float) and math.isfinite(value) else ""

    for row in rows:
        agreement = row.get("rms_relative_difference", row.get("loss_relative_difference"))
        table.add_row(row["what"], number(row.get("steps_per_s"), ".1f"), number(row.get("tau_per_hour"), ".0f"),
                      number(row.get("epoch_s"), ".3f"), number(row.get("default_step_s"), ".4f"),
                      number(agreement, ".2e"), row.get("against", ""))
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps({"machine": found, "cpu_test_run": args.cpu, "rows": rows}, indent=1))
        console.print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
