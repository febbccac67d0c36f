"""``python -m core transport TRAJ [TRAJ ...]``: the transport stage on trajectories from anywhere.

Each file is one replica of one system; the table gives every replica's
numbers ± their standard errors from the trajectory itself, and the system's
pooled values ± the pooled errors, in reduced units (σ, τ, kT = 1, e = 1):
D in σ²/τ, κ in e²/(σ τ kT), Λ = κ / c per formula unit (c the concentration of formula units
M_ν₊X_ν₋, σ⁻³), Λ_eq = κ / (z₊ c₊) per equivalent; for a 1:1 salt both are κ over the cation density.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from core.errors import UserError
from core.json_values import finite
from core.md.trajectory import is_gsd
from core.md.trajectory_import import ImportOptions
from core.results import Estimate, SystemTransport
from core.storage.layout import replica_to_row, transport_to_row
from core.transport.window import FitWindowError

if TYPE_CHECKING:
    from core.transport.onsager import ReplicaTransport

NAN = float("nan")


@dataclass(frozen=True)
class Column:
    """One column of the printed table: its label, number format, and what it shows (value, standard error)
    for one replica and for the pooled system (None: left blank)."""

    label: str
    spec: str
    of_replica: Callable[[ReplicaTransport], tuple[float, float]]
    of_system: Callable[[SystemTransport], tuple[float, float] | None]


def _pair(estimate: Estimate) -> tuple[float, float]:
    return estimate.value, estimate.err


COLUMNS = (
    Column("frames", "d", lambda r: (r.n_frames, NAN), lambda t: None),
    Column("N₊", "d", lambda r: (r.n_cations, NAN), lambda t: None),
    Column("D₊", ".4g", lambda r: (r.D_p, r.D_p_err), lambda t: _pair(t.D_p)),
    Column("D₋", ".4g", lambda r: (r.D_m, r.D_m_err), lambda t: _pair(t.D_m)),
    Column("κ", ".4g", lambda r: (r.kappa, r.kappa_err), lambda t: _pair(t.kappa)),
    Column("κ (Green–Kubo)", ".4g", lambda r: (r.kappa_green_kubo, NAN), lambda t: (t.kappa_green_kubo.value, NAN)),
    Column("Λ", ".4g", lambda r: (r.molar_conductivity, r.molar_conductivity_err),
           lambda t: _pair(t.molar_conductivity)),
    Column("Λ_eq", ".4g", lambda r: (r.molar_conductivity_equivalent, r.molar_conductivity_equivalent_err),
           lambda t: _pair(t.molar_conductivity_equivalent)),
    Column("Λ_NE", ".4g", lambda r: (r.molar_conductivity_ne, r.molar_conductivity_ne_err),
           lambda t: _pair(t.molar_conductivity_ne)),
    Column("Λ/Λ_NE", ".3f", lambda r: (r.ionicity, NAN), lambda t: _pair(t.ionicity)),
    Column("fit from (τ)", ".3g", lambda r: (r.fit_t0, NAN), lambda t: (t.window.t0, NAN)),
    Column("fit to (τ)", ".3g", lambda r: (r.fit_t1, NAN), lambda t: (t.window.t1, NAN)),
    Column("run (τ)", ".4g", lambda r: (r.run_length, NAN), lambda t: None),
)


def add_parser(commands) -> None:
    """Register the ``transport`` sub-command on an argparse sub-parsers object."""
    parser = commands.add_parser("transport", help="Onsager coefficients and conductivity of trajectories",
                                 description=__doc__.splitlines()[0])
    parser.add_argument("trajectories", type=Path, nargs="+", help="GSD files, or any format MDAnalysis reads")
    parser.add_argument("--fit", type=float, nargs=2, metavar=("T0", "T1"), help="force the fit window, τ")
    parser.add_argument("--max-window-fraction", type=float, default=0.25,
                        help="the automatic window ends at most at this fraction of the run (default 0.25)")
    parser.add_argument("--kT", type=float, default=1.0)
    parser.add_argument("--timestep", type=float, help="τ per step, for GSD files without localcond's log")
    parser.add_argument("--topology", type=Path, help="topology file for MDAnalysis formats (data, PSF, PDB, ...)")
    parser.add_argument("--cation", help="MDAnalysis selection of the cations (default 'type cation')")
    parser.add_argument("--anion", help="MDAnalysis selection of the anions (default 'type anion')")
    parser.add_argument("--frame-interval", type=float, help="τ between frames (default: the file's times)")
    parser.add_argument("--length-scale", type=float, help="σ per length unit of the file (default 1)")
    parser.add_argument("--time-scale", type=float, help="τ per time unit of the file (default 1)")
    parser.add_argument("--format", help="MDAnalysis trajectory format (LAMMPSDUMP, XTC, ...) where the extension "
                                         "does not say it")
    parser.add_argument("--unwrapped", action="store_true", default=None,
                        help="the file's coordinates are already unwrapped (LAMMPS xu, ...): no NoJump")
    parser.add_argument("--cation-valence", type=float, help="cation valence z (default: the topology's charges, "
                                                                 "or +1)")
    parser.add_argument("--anion-valence", type=float, help="anion valence z (default: the topology's charges, "
                                                                "or -1)")
    parser.add_argument("--species", nargs=2, action="append", metavar=("NAME", "SELECTION"),
                        help="an ionic species and its MDAnalysis selection, repeated for each species (instead of "
                             "--cation/--anion), for more than one cation or anion species; gives the Onsager "
                             "matrix over the species")
    parser.add_argument("--valence", nargs=2, action="append", metavar=("NAME", "Z"),
                        help="valence of a --species where the topology has no charges (repeat per species)")
    parser.add_argument("--group", choices=("atom", "residue", "molecule", "fragment"),
                        help="one ion is one selected atom (default), or the selected atoms of one residue, "
                             "molecule or fragment (bond graph), at its centre of mass")
    parser.add_argument("--equal-masses", action="store_true", default=None,
                        help="every atom weighs the same in the centre of mass (no warning without topology masses)")
    parser.add_argument("--mdanalysis", action="store_true", help="read GSD files through MDAnalysis too")
    parser.add_argument("--solvent", action="store_true", help="also L^ss, L^+s, L^-s, L_self^ss and D_s")
    parser.add_argument("--units", choices=("reduced", "real"), default="reduced",
                        help="real: D in m²/s, κ in S/m, Λ in S m²/mol from the file's own units and --temperature "
                             "(--length-scale and --time-scale then do not apply)")
    parser.add_argument("--temperature", type=float, help="K, for --units real")
    parser.add_argument("--length-unit", choices=("angstrom", "nm", "bohr", "m"), default="angstrom",
                        help="the file's length unit, for --units real (default angstrom)")
    parser.add_argument("--time-unit", choices=("fs", "ps", "ns", "s"), default="ps",
                        help="the file's time unit (of its frame times or --frame-interval), for --units real "
                             "(default ps)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--decompose", choices=("cluster", "shell"),
                        help="also Λ by class of ion environment: cluster (size and net charge of unlike-ion "
                             "clusters) or shell (unlike ions in the first shell); docs/transport.md")
    parser.add_argument("--cutoff", type=float, help="with --decompose: the unlike-pair distance, σ (the file's "
                                                     "length units × --length-scale; default: the unlike RDF's "
                                                     "first minimum)")
    parser.add_argument("--horizon", type=float, help="with --decompose: the shares' horizon, τ (default: the "
                                                      "latest start the automatic window can have)")


def run(args: argparse.Namespace, console: Console) -> int:
    """Compute and print; returns the exit status."""
    from core.transport.onsager import system_transport
    from core.transport.replica_files import replica_curves, replica_positions

    _check_numbers(args)
    options = _import_options(args)
    curves, positions = [], []
    for path in args.trajectories:
        if not path.is_file():
            raise UserError(f"{path}: no such trajectory file")
        foreign = args.mdanalysis or not is_gsd(path)
        if not foreign:
            _refuse_import_options(args, path)
        try:
            if args.decompose:
                positions.append(replica_positions(path, timestep=args.timestep,
                                                   import_options=options if foreign else None,
                                                   include_solvent=args.solvent))
                curves.append(positions[-1].curves())
            else:
                curves.append(replica_curves(path, timestep=args.timestep,
                                             import_options=options if foreign else None,
                                             include_solvent=args.solvent))
        except RuntimeError as exc:  # the gsd library's way of saying a file is not (or no longer) a GSD file
            raise UserError(f"{path}: not a readable GSD file ({exc})") from exc
        except (ValueError, OSError, KeyError) as exc:
            message = str(exc)
            raise UserError(message if message.startswith(str(path)) else f"{path}: {message}") from exc
    try:
        result = system_transport(curves, kT=args.kT, fit_window=tuple(args.fit) if args.fit else None,
                                  max_window_fraction=args.max_window_fraction)
    except FitWindowError as exc:
        raise UserError(f"--fit {args.fit[0]:g} {args.fit[1]:g}: {exc}") from exc
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    replicas, pooled, warnings = result.replicas, result.transport, result.window_warnings
    decomposition = _decomposition(args, positions, curves) if args.decompose else None
    units: dict = {}
    if args.units == "real":
        from core.transport.real_units import factors, replica_to_si, system_to_si

        si = factors(args.temperature, args.length_unit, args.time_unit)
        replicas, pooled, units = [replica_to_si(r, si) for r in replicas], system_to_si(pooled, si), si.units
        if decomposition is not None:
            decomposition = _decomposition_to_si(decomposition, si.molar)
    if args.json:
        rows = [{**replica_to_row(r), **({"units": units} if units else {})} for r in replicas]
        summary = {**transport_to_row(pooled), **({"units": units} if units else {})}
        print(json.dumps({"replicas": finite(rows), "pooled": finite(summary),
                          **({"decomposition": finite(decomposition.as_dict())} if decomposition else {}),
                          **({"warnings": list(warnings)} if warnings else {})}, indent=1))
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        return 0
    said = ("SI: D m²/s, κ S/m, Λ S m²/mol" if args.units == "real" else "reduced units")
    table = Table(title=f"Transport ({said}; ± standard error from the trajectory)")
    table.add_column("trajectory")
    for column in COLUMNS:
        table.add_column(column.label, justify="right")
    table.add_column("diffusive")
    for path, replica in zip(args.trajectories, replicas):
        table.add_row(str(path), *[_cell(column.of_replica(replica), column.spec) for column in COLUMNS],
                      str(replica.diffusive))
    if len(replicas) > 1:
        table.add_row("pooled", *[_cell(column.of_system(pooled), column.spec) for column in COLUMNS],
                      str(pooled.window.diffusive))
    console.print(table)
    console.print(f"ions: {pooled.ions}; Λ is per {pooled.molar_conductivity_basis}"
                  + (" (a mixture: a formula unit is not defined)" if pooled.n_species > 2 else ""))
    if pooled.n_species > 2:
        console.print(_species_table(pooled))
    if len(replicas) > 1:
        console.print(f"replica scatter of Λ: std {pooled.molar_conductivity.std:.3g}, std/√n "
                      f"{pooled.molar_conductivity_sem:.3g} (compare the pooled error "
                      f"{pooled.molar_conductivity.err:.3g})")
    if decomposition is not None:
        console.print(_decomposition_table(decomposition, pooled,
                                           *((args.length_unit, args.time_unit) if args.units == "real" else ("σ", "τ"))))
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if not pooled.window.diffusive:
        console.print("[yellow]warning:[/] no diffusive decade found (MSD log-log slope not within 0.1 of 1 in "
                      "the first quarter of the run); the numbers are not converged. Longer runs, or --fit T0 T1.")
    elif not pooled.window.collective_converged and not args.fit:
        console.print("[yellow]warning:[/] the charge MSD's slope was still falling at the latest window this run "
                      f"allows (Λ over the next window: {pooled.window.late_molar_conductivity.value:.3g} ± "
                      f"{pooled.window.late_molar_conductivity.err:.2g}); Λ is likely overestimated. Longer runs.")
    return 0


def _decomposition(args: argparse.Namespace, positions: list, curves: list):
    """Λ by class (:mod:`core.transport.mechanisms`) of the files' ions, or a :class:`UserError` naming the option."""
    from core.transport.attribution import shared_horizon, system_attribution
    from core.transport.mechanisms import decompose

    horizon = args.horizon
    if horizon is None:
        horizon = shared_horizon(min(c.run_length for c in curves), fit_window=tuple(args.fit) if args.fit else None,
                                 max_window_fraction=args.max_window_fraction, min_decades=1.0)
    try:
        attribution = system_attribution(positions, plateau_start=float(horizon),
                                         formula_units=curves[0].formula_units, kT=args.kT)
    except ValueError as exc:
        raise UserError(f"--horizon {horizon:g}: {exc}") from exc
    try:
        return decompose(positions, attribution, kind=args.decompose, cutoff=args.cutoff)
    except ValueError as exc:
        raise UserError(f"--decompose {args.decompose}" + (f" --cutoff {args.cutoff:g}" if args.cutoff else "")
                        + f": {exc}") from exc


def _decomposition_to_si(decomposition, factor: float):
    """The decomposition with every contribution (and the covariance) in S m²/mol."""
    from dataclasses import replace as replaced

    def scaled(estimate: Estimate) -> Estimate:
        return Estimate(estimate.value * factor, estimate.err * factor)

    classes = tuple(replaced(c, contribution=scaled(c.contribution), self_part=scaled(c.self_part))
                    for c in decomposition.classes)
    return replaced(decomposition, classes=classes, covariance=decomposition.covariance * factor ** 2,
                    total=scaled(decomposition.total))


def _decomposition_table(decomposition, pooled: SystemTransport, length_unit: str, time_unit: str) -> Table:
    """Λ_c per class with its error, its self part, the ions' fraction and Λ_c / Σ Λ_c (the cutoff and the
    horizon in σ and τ, or the file's units with --units real)."""
    found = "the unlike RDF's first minimum" if decomposition.cutoff_found else "given"
    horizon = f"{decomposition.horizon:.3g} {time_unit}"
    table = Table(title=f"Λ by {decomposition.kind} class (unlike ions within {decomposition.cutoff:.3g} "
                        f"{length_unit}, {found}; shares' horizon {horizon}; ± standard error)")
    for column in ("class", "ions in it", "Λ_c", "of which self", "Λ_c / Σ Λ_c"):
        table.add_column(column, justify="left" if column == "class" else "right")
    total = decomposition.total.value
    for c in decomposition.classes:
        if c.empty:
            table.add_row(c.name, "0 %", "empty", "", "")
            continue
        table.add_row(c.name, f"{100 * c.fraction:.1f} %", _cell(_pair(c.contribution), ".4g"),
                      _cell(_pair(c.self_part), ".4g"),
                      f"{100 * c.contribution.value / total:.0f} %" if total else "")
    table.add_row("sum", "100 %", _cell(_pair(decomposition.total), ".4g"), "",
                  f"(Einstein Λ {pooled.molar_conductivity.value:.4g} ± {pooled.molar_conductivity.err:.2g})")
    return table


#: Options that only apply to files read through MDAnalysis, and their argparse names.
IMPORT_OPTIONS = (("topology", "--topology"), ("cation", "--cation"), ("anion", "--anion"),
                  ("frame_interval", "--frame-interval"), ("length_scale", "--length-scale"),
                  ("time_scale", "--time-scale"), ("format", "--format"), ("unwrapped", "--unwrapped"),
                  ("cation_valence", "--cation-valence"), ("anion_valence", "--anion-valence"),
                  ("group", "--group"), ("equal_masses", "--equal-masses"), ("species", "--species"),
                  ("valence", "--valence"))


def _import_options(args: argparse.Namespace) -> ImportOptions:
    """The command line's import options, or a :class:`UserError` naming the argument that is wrong."""
    if args.species:
        mixed = [flag for flag, value in (("--cation", args.cation), ("--anion", args.anion),
                                          ("--cation-valence", args.cation_valence),
                                          ("--anion-valence", args.anion_valence)) if value is not None]
        if mixed:
            raise UserError(f"{', '.join(mixed)} with --species: name every ionic species with --species NAME "
                            "SELECTION (and its valence with --valence NAME Z), or use --cation/--anion alone")
    elif args.valence:
        raise UserError("--valence NAME Z applies to species named by --species; for --cation/--anion use "
                        "--cation-valence/--anion-valence")
    valences = []
    for name, text in args.valence or ():
        try:
            valences.append((name, float(text)))
        except ValueError:
            raise UserError(f"--valence {name} {text}: expected a number for the valence") from None
    defaults = ImportOptions()
    try:
        return ImportOptions(args.topology, args.cation or defaults.cation, args.anion or defaults.anion,
                             args.frame_interval, args.length_scale or 1.0, args.time_scale or 1.0, args.format,
                             bool(args.unwrapped), args.cation_valence, args.anion_valence, args.group or "atom",
                             bool(args.equal_masses),
                             tuple((name, selection) for name, selection in args.species or ()),
                             tuple(valences))
    except ValueError as exc:
        flag = "--valence" if "valence" in str(exc) else "--species"
        raise UserError(f"{flag}: {exc}") from exc


def _check_numbers(args: argparse.Namespace) -> None:
    """Every numeric option finite and in range, or a :class:`UserError` naming it."""
    positive = (("--kT", args.kT), ("--timestep", args.timestep), ("--frame-interval", args.frame_interval),
                ("--length-scale", args.length_scale), ("--time-scale", args.time_scale))
    for name, value in positive:
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UserError(f"{name} must be a positive number, got {value:g}")
    for name, value, sign in (("--cation-valence", args.cation_valence, 1), ("--anion-valence", args.anion_valence, -1)):
        if value is not None and not (math.isfinite(value) and value * sign > 0):
            raise UserError(f"{name} must be a {'positive' if sign > 0 else 'negative'} number, got {value:g}")
    if args.units == "real":
        if args.temperature is None or not (math.isfinite(args.temperature) and args.temperature > 0):
            raise UserError("--units real needs --temperature in K (a positive number)")
        for flag, value in (("--length-scale", args.length_scale), ("--time-scale", args.time_scale),
                            ("--kT", None if args.kT == 1.0 else args.kT)):
            if value is not None:
                raise UserError(f"{flag} does not apply with --units real: numbers are converted from the file's "
                                "own units with --length-unit, --time-unit and --temperature")
    elif args.temperature is not None:
        raise UserError("--temperature applies only with --units real")
    if not (math.isfinite(args.max_window_fraction) and 0 < args.max_window_fraction <= 0.5):
        raise UserError(f"--max-window-fraction must be in (0, 0.5], got {args.max_window_fraction:g}")
    for name, value in (("--cutoff", args.cutoff), ("--horizon", args.horizon)):
        if value is not None and not args.decompose:
            raise UserError(f"{name} applies only with --decompose cluster|shell")
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UserError(f"{name} must be a positive number, got {value:g}")
    if args.fit is not None:
        t0, t1 = args.fit
        if not (math.isfinite(t0) and math.isfinite(t1) and 0 < t0 < t1):
            raise UserError(f"--fit T0 T1 needs 0 < T0 < T1 (τ), got {t0:g} {t1:g}")


def _refuse_import_options(args: argparse.Namespace, path: Path) -> None:
    """A GSD file is read natively, where the MDAnalysis options would be silently ignored: refuse them."""
    given = [flag for attribute, flag in IMPORT_OPTIONS if getattr(args, attribute) is not None]
    if given:
        raise UserError(f"{path}: {', '.join(given)}: these options apply only to files read through MDAnalysis; "
                        "a GSD file is read natively (ions from its types and charges, times from its log or --timestep). "
                        "Add --mdanalysis to read it through MDAnalysis, or drop them")


def _species_table(transport: SystemTransport) -> Table:
    """The pooled Onsager matrix L^ab over a mixture's species, with each species' D and valence."""
    table = Table(title="Onsager matrix L^ab over the species (pooled; ± standard error)")
    table.add_column("species")
    table.add_column("z", justify="right")
    table.add_column("D", justify="right")
    for species in transport.species:
        table.add_column(f"L^(·,{species.name})", justify="right")
    for a, first in enumerate(transport.species):
        cells = []
        for b, second in enumerate(transport.species):   # each species holds L^ab for the species from it on
            owner, other = (first, second) if a <= b else (second, first)
            cells.append(_cell(_pair(dict(owner.onsager)[other.name]), ".4g"))
        table.add_row(first.name, format(first.valence, "+g"), _cell(_pair(first.diffusion), ".4g"), *cells)
    return table


def _cell(shown: tuple[float, float] | None, spec: str) -> str:
    """A value ± its standard error (the value alone without a finite error; blank for None)."""
    if shown is None:
        return ""
    value, error = shown
    if not math.isfinite(value):
        return "—"           # e.g. the Green–Kubo κ of files without velocities
    return f"{format(value, spec)} ± {format(error, '.2g')}" if math.isfinite(error) else format(value, spec)
