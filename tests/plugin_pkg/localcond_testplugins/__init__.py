"""Plugins of every kind, shipped as a separate package to test discovery through the entry point.

- ``brownian`` simulator: ideal Brownian ions (diffusion coefficients are
  options) and solvent; bonded pairs move rigidly together. Exact answers:
  L_self^{ii} = D_i c / kT, and bonded pairs carry no current.
- ``shell-counts`` descriptor: like and unlike ions within r_cut.
- ``mean-linear`` model: k = w·x + b fitted on system-mean features.
- ``summary`` analysis: a parity plot and a table.
- ``needs-engine`` descriptor: requires a module that does not exist.
"""

from __future__ import annotations

from core.api import hookimpl

from localcond_testplugins.plugins import Brownian, MeanLinear, NeedsEngine, ShellCounts, Summary


@hookimpl
def localcond_register_simulators(registry):
    return [Brownian]


@hookimpl
def localcond_register_descriptors(registry):
    return [ShellCounts, NeedsEngine]


@hookimpl
def localcond_register_models(registry):
    return [MeanLinear]


@hookimpl
def localcond_register_analyses(registry):
    return [Summary]
