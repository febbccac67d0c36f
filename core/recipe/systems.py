"""Expanding a recipe's ``systems`` section into :class:`core.datatypes.SystemSpec` objects."""

from __future__ import annotations

import itertools

from core.datatypes import SystemSpec
from core.errors import UserError
from core.recipe.schema import SystemsConfig


def system_name(concentration: float, bjerrum_length: float, paired_fraction: float,
                n_particles: int, density: float) -> str:
    """A stable, readable identifier, e.g. ``c0.05_lB10_p0_N40000_rho0.8``."""
    return (f"c{concentration:g}_lB{bjerrum_length:g}_p{paired_fraction:g}"
            f"_N{n_particles}_rho{density:g}")


def expand_systems(config: SystemsConfig, *, min_ions: int) -> list[SystemSpec]:
    """Every system of every grid, in recipe order, each once.

    Raises UserError (with the YAML path) for a system with fewer than
    ``min_ions`` cations, or one listed twice.
    """
    systems: dict[str, SystemSpec] = {}
    for group_index, group in enumerate(config.grid):
        path = f"systems.grid[{group_index}]"
        n_particles = group.n_particles or config.n_particles
        density = group.density or config.density
        replicas = group.replicas or config.replicas
        for c, lb, p in itertools.product(group.concentration, group.bjerrum_length, group.paired_fraction):
            spec = SystemSpec(
                name=system_name(c, lb, p, n_particles, density), concentration=c, bjerrum_length=lb,
                paired_fraction=p, n_particles=n_particles, density=density, replicas=replicas,
                seed=config.seed, test_only=group.test_only)
            if spec.n_ion_pairs < min_ions:
                raise UserError(
                    f"concentration {c:g} with {n_particles} particles at density {density:g} gives "
                    f"{spec.n_ion_pairs} cation(s); expected at least simulation.min_ions = {min_ions} "
                    f"(raise n_particles or the concentration)", path=f"{path}.concentration")
            if 2 * spec.n_ion_pairs > n_particles:
                raise UserError(f"concentration {c:g} needs more ions than the {n_particles} particles",
                                path=f"{path}.concentration")
            if p > 0 and spec.n_bonded_pairs == 0:
                raise UserError(f"paired fraction {p:g} of {spec.n_ion_pairs} ion pairs bonds no pair",
                                path=f"{path}.paired_fraction")
            if spec.name in systems:
                raise UserError(f"system {spec.name} is listed twice (an earlier grid group has it too); "
                                "each system may appear once", path=path)
            systems[spec.name] = spec
    return list(systems.values())
