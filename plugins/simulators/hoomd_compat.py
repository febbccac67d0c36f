"""Every HOOMD-blue version difference the ``hoomd`` simulator depends on, in one place.

Supported: HOOMD-blue 4.0 to 7.x (checked here on a CPU build of 4.8.2;
written against the 7.x documentation, whose names for what this plugin
uses — ``hoomd.md.methods.ConstantVolume``, ``thermostats.MTTK`` and
``thermostats.Bussi``, ``long_range.pppm.make_pppm_coulomb_forces``,
``minimize.FIRE``, ``write.GSD.write`` — are those of 4.x). HOOMD 7 writes GSD
schema 2.0 and needs gsd ≥ 5.0, which localcond requires anyway.
"""

from __future__ import annotations

import inspect

#: The HOOMD-blue major versions this plugin supports.
SUPPORTED_MAJOR = range(4, 8)


def check_version() -> str:
    """The installed version; an error naming the supported range otherwise."""
    import hoomd

    version = str(hoomd.version.version)
    major = int(version.split(".")[0])
    if major not in SUPPORTED_MAJOR:
        raise RuntimeError(f"HOOMD-blue {version} is not supported by the hoomd simulator plugin "
                           f"(supported: {SUPPORTED_MAJOR.start}.0 to {SUPPORTED_MAJOR.stop - 1}.x)")
    if not getattr(hoomd.version, "md_built", True):
        raise RuntimeError(f"HOOMD-blue {version} was built without the md component")
    return version


def make_device(kind: str, threads: int):
    """A HOOMD device: ``"CPU"``, ``"GPU"`` or ``"auto"`` (GPU when one is available)."""
    import hoomd

    if kind == "GPU" or (kind == "auto" and getattr(hoomd.version, "gpu_enabled", False)):
        return hoomd.device.GPU(notice_level=1)
    parameters = inspect.signature(hoomd.device.CPU).parameters
    if "num_cpu_threads" in parameters and getattr(hoomd.version, "tbb_enabled", False):
        return hoomd.device.CPU(num_cpu_threads=max(1, threads), notice_level=1)
    return hoomd.device.CPU(notice_level=1)


def constant_volume(filter_, thermostat=None):
    import hoomd

    return hoomd.md.methods.ConstantVolume(filter=filter_, thermostat=thermostat)


def mttk(kT: float, tau: float):
    import hoomd

    return hoomd.md.methods.thermostats.MTTK(kT=kT, tau=tau)


def bussi(kT: float, tau: float):
    import hoomd

    return hoomd.md.methods.thermostats.Bussi(kT=kT, tau=tau)


def pppm_forces(nlist, resolution: int, order: int, r_cut: float, charged_types: list[str] | None = None):
    """(Ewald real-space pair force, PPPM reciprocal force); α chosen by HOOMD.

    With ``charged_types``, the mesh assigns charge from, and interpolates force to, particles of those
    types only. HOOMD's ``PPPMForceCompute`` takes a particle group, but its Python ``Coulomb`` always
    passes every particle; the subclass below hands it the group instead (the one private hook the
    plugin uses, checked on 4.8.2). Uncharged particles add nothing to the mesh and get no force from
    it, so the result is the all-particle one; the screening parameter is chosen from the same Σq² and
    N, so it is the same too.
    """
    import hoomd

    if charged_types is None:
        return hoomd.md.long_range.pppm.make_pppm_coulomb_forces(nlist=nlist, resolution=(resolution,) * 3,
                                                                 order=order, r_cut=r_cut, alpha=0)
    real_space = hoomd.md.pair.Ewald(nlist)
    real_space.params.default = dict(kappa=0, alpha=0)   # as make_pppm_coulomb_forces: set on attach
    real_space.r_cut.default = r_cut
    reciprocal = _group_coulomb_class()(nlist=nlist, resolution=(resolution,) * 3, order=order, r_cut=r_cut,
                                        alpha=0, pair_force=real_space,
                                        group_filter=hoomd.filter.Type(list(charged_types)))
    return real_space, reciprocal


def _group_coulomb_class():
    """``hoomd.md.long_range.pppm.Coulomb`` on a particle group of the caller's choice."""
    import hoomd

    class GroupCoulomb(hoomd.md.long_range.pppm.Coulomb):
        def __init__(self, *, group_filter, **kwargs) -> None:
            super().__init__(**kwargs)
            self._group_filter = group_filter

        def _attach_hook(self) -> None:
            state = self._simulation.state
            chosen = state._get_group(self._group_filter)
            state._get_group = lambda _all: chosen   # the parent asks for filter.All() once, for its group
            try:
                super()._attach_hook()
            finally:
                del state._get_group

    return GroupCoulomb


def tree_nlist(buffer: float):
    """A BVH neighbour list (one tree per type: pairs whose r_cut is zero are never visited)."""
    import hoomd

    return hoomd.md.nlist.Tree(buffer=buffer, exclusions=("bond",))


def thermostat_log(thermostat):
    """A logger of the MTTK thermostat's (ξ, η), for the state GSD (HOOMD's GSD does not store them)."""
    import hoomd

    logger = hoomd.logging.Logger(categories=["sequence"])
    logger[THERMOSTAT_LOG_KEY] = (lambda: [float(x) for x in thermostat.translational_dof], "sequence")
    return logger


#: Where the MTTK variables are logged in a state GSD (``log/localcond/mttk/translational_dof``).
THERMOSTAT_LOG_KEY = ("localcond", "mttk", "translational_dof")


def fire(dt: float, forces: list, methods: list, force_tol: float):
    import hoomd

    return hoomd.md.minimize.FIRE(dt=dt, force_tol=force_tol, angmom_tol=1e-2, energy_tol=1e-7, forces=forces,
                                  methods=methods)


def write_state(state, path: str, logger=None) -> None:
    """Write the simulation state (positions, images, velocities, bonds, and ``logger``'s quantities) to GSD."""
    import hoomd

    hoomd.write.GSD.write(state=state, filename=path, mode="wb", logger=logger)
