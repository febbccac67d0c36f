"""localcond's public API for plugin authors: import from here, not from core's inner modules.

Everything a simulator, descriptor, model or analysis plugin needs, under one versioned name::

    from core.api import DescriptorPlugin, Frame, PluginConfig, hookimpl

:data:`API_VERSION` follows semantic versioning: a minor version adds names, a major version removes or
changes one. Names that are not listed in ``__all__`` (and modules other than this one and
:mod:`core.testing`, the plugin-author kit) may change in any release. A plugin can state what it
needs with :func:`require_api`.
"""

from __future__ import annotations

from core.attribution_check import (GroupComparison, MeasuredShares, chi2_per_dof, compare_groups,
                                    measured_shares)
from core.datatypes import (ANION_TYPE, CATION_TYPE, PAIR_BOND_TYPE, SOLVENT_TYPE, AnalysisInputs,
                            AnalysisResult, Frame, LearningData, SimulationJob, SimulationSettings, SystemSpec,
                            TaskContext)
from core.electrolyte import trajectory_log
from core.engine_simulator import EngineConfig, EngineSimulator
from core.figures import pyplot, save_figure
from core.hookspecs import hookimpl
from core.local_conductivity import LocalConductivity, load_local
from core.plugin_api import (AnalysisPlugin, DescriptorPlugin, LocalConductivityModel, ModelPlugin, Plugin,
                             PluginConfig, SimulatorPlugin)
from core.species import IonSpecies, ion_species
from core.transport.attribution import SystemAttribution, block_mean, frame_blocks
from core.trajectory import (LOG_BJERRUM_LENGTH, LOG_CONCENTRATION, LOG_FRAME_INTERVAL, LOG_KT, LOG_TIMESTEP,
                             GSDWriter, frame_count, read_frames, read_log)

#: The version of this API (not of localcond): major.minor.
API_VERSION = "1.2"

__all__ = [
    "API_VERSION", "require_api",
    # plugin kinds and their options
    "Plugin", "PluginConfig", "SimulatorPlugin", "DescriptorPlugin", "ModelPlugin", "LocalConductivityModel",
    "AnalysisPlugin", "hookimpl", "EngineSimulator", "EngineConfig",
    # data that core hands to plugins and plugins hand back
    "Frame", "SystemSpec", "SimulationSettings", "SimulationJob", "TaskContext", "LearningData",
    "AnalysisInputs", "AnalysisResult", "IonSpecies", "ion_species", "LocalConductivity", "load_local",
    # each ion's measured share of Λ (API 1.1), and means over environments with frame-block errors
    "SystemAttribution", "block_mean", "frame_blocks",
    # learned k against the measured shares over groups of environments (API 1.2)
    "MeasuredShares", "GroupComparison", "measured_shares", "compare_groups", "chi2_per_dof",
    # the GSD trajectory conventions
    "CATION_TYPE", "ANION_TYPE", "SOLVENT_TYPE", "PAIR_BOND_TYPE", "GSDWriter", "read_frames", "read_log",
    "frame_count", "trajectory_log", "LOG_TIMESTEP", "LOG_FRAME_INTERVAL", "LOG_KT", "LOG_CONCENTRATION", "LOG_BJERRUM_LENGTH",
    # figures
    "pyplot", "save_figure",
]


def require_api(version: str) -> None:
    """Raise ``ImportError`` unless this API is compatible with ``version`` (same major, at least that minor).

    >>> require_api("1.0")
    >>> require_api("2.0")
    Traceback (most recent call last):
    ...
    ImportError: this plugin needs localcond API 2.0; this localcond has 1.2 (same major version, minor 0 or later)
    """
    wanted_major, wanted_minor = (int(part) for part in version.split(".")[:2])
    major, minor = (int(part) for part in API_VERSION.split(".")[:2])
    if wanted_major != major or wanted_minor > minor:
        raise ImportError(f"this plugin needs localcond API {version}; this localcond has {API_VERSION} "
                          f"(same major version, minor {wanted_minor} or later)")
