"""Small hand-made systems and run settings shared by the simulator tests."""

from __future__ import annotations

import numpy as np

from core.datatypes import SimulationSettings
from core.md.electrolyte import Topology

WCA_CUT = 2 ** (1 / 6)


def settings(**changes) -> SimulationSettings:
    """Paper model settings with short runs; ``changes`` override any field."""
    values = dict(steps=1000, equilibration_steps=500, write_period=100, timestep=0.005, kT=1.0, wca_cutoff=WCA_CUT,
                  thermostat_tau=0.5, bond_k=100.0, bond_r0=1.0, min_ions=1)
    return SimulationSettings(**{**values, **changes})


def topology_of(valence, box_length: float, bonds=()) -> Topology:
    """A topology from valences (+1 cation, -1 anion, 0 solvent) in a cubic box of ``box_length`` σ."""
    valence = np.asarray(valence, dtype=float)
    typeid = np.where(valence > 0, 0, np.where(valence < 0, 1, 2)).astype(np.int32)
    return Topology(typeid, valence, np.asarray(bonds, dtype=np.int64).reshape(-1, 2), box_length)
