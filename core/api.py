"""localcond's public API for plugin authors: import from here, not from core's inner modules.

Everything a simulator, descriptor, model or analysis plugin needs, under one versioned name::

    from core.api import DescriptorPlugin, Frame, PluginConfig, hookimpl

:data:`API_VERSION` follows semantic versioning: a minor version adds names, a major version removes or
changes one. Names that are not listed in ``__all__`` (and modules other than this one and
:mod:`core.testing`, the plugin-author kit) may change in any release. A plugin can state what it
needs with :func:`require_api`.
"""

from __future__ import annotations

from core.analysis.analysis_template import SystemAnalysis, SystemView, row_columns
from core.analysis.attribution_check import (Contrast, DistanceBinEdges, GroupComparison, GroupSpread, MeasuredShares,
                                             agreement_numbers, chi2_per_dof, compare_groups, measured_shares)
from core.analysis.inputs import AnalysisInputs
from core.datatypes import (ANION_TYPE, CATION_TYPE, PAIR_BOND_TYPE, SOLVENT_TYPE,
                            AnalysisResult, Frame, LearningData, SimulationJob, SimulationSettings, SystemSpec,
                            TaskContext)
from core.md.electrolyte import TYPES, Topology, build_topology, initial_positions, trajectory_log
from core.md.engine_simulator import EngineConfig, EngineSimulator
from core.md.ewald import ewald_parameters
from core.features.ase_frames import STAND_IN_ELEMENTS, species_in_element_order, species_subset, stand_in_number
from core.features.soap import SOAPDescriptor, SOAPOptions
from core.analysis.figures import identity_line, pyplot, save_figure
from core.plugin_system.hookspecs import hookimpl
from core.learn.rigidity import label_rows, local_variance, posterior_covariance
from core.learn.level import SHARE_WEIGHTS, JointLevel, SystemStatistics, fit_joint_level, system_statistics
from core.learn.shape import (ShapeFit, ShapeGroups, data_shape_groups, decomposed_k, fit_shape,
                              profiled_normal_equations, profiled_offsets, shape_design, shape_design_scale,
                              share_level_data)
from core.learn.scores import prediction_scores, r2_score
from core.analysis.local_conductivity import (LocalConductivity, MaxRelativeUncertainty, finite_median, load_local,
                                             negative_percent)
from core.memory import retained_heap
from core.periodic import minimum_image, unwrap, wrap
from core.plugin_system.plugin_api import (AnalysisPlugin, DescriptorPlugin, LocalConductivityModel, ModelPlugin, Plugin,
                             PluginConfig, SimulatorPlugin)
from core.plugin_system.registry import PluginRegistry
from core.results import (AttributionSummary, Estimate, LabelCheck, Prediction, SpeciesTransport, SystemTransport,
                          TransportWindow)
from core.md.species import IonSpecies, ion_species, species_notes
from core.md.trajectory import (LOG_BJERRUM_LENGTH, LOG_CONCENTRATION, LOG_FRAME_INTERVAL, LOG_KT, LOG_TIMESTEP,
                             GSDWriter, frame_count, read_frames, read_log)
from core.md.trajectory import is_gsd
from core.md.trajectory_import import ImportOptions, frames_of
from core.transport.attribution import SystemAttribution, block_mean, frame_blocks
from core.transport.mechanisms import (CLASS_KINDS, ClassContribution, Decomposition, class_members,
                                      cluster_components, decompose, first_minimum)

#: The version of this API (not of localcond): major.minor.
API_VERSION = "2.5"

__all__ = [
    "API_VERSION", "require_api",
    # plugin kinds and their options
    "Plugin", "PluginConfig", "SimulatorPlugin", "DescriptorPlugin", "ModelPlugin", "LocalConductivityModel",
    "AnalysisPlugin", "hookimpl", "EngineSimulator", "EngineConfig",
    # data that core hands to plugins and plugins hand back
    "Frame", "SystemSpec", "SimulationSettings", "SimulationJob", "TaskContext", "LearningData",
    "AnalysisInputs", "AnalysisResult", "IonSpecies", "ion_species", "LocalConductivity", "load_local",
    # each ion's measured share of Λ (API 1.1), and means over environments with frame-block errors
    "SystemAttribution", "block_mean", "frame_blocks", "CLASS_KINDS", "ClassContribution", "Decomposition",
    "class_members", "cluster_components", "decompose", "first_minimum",
    # learned k against the measured shares over groups of environments (API 1.2)
    "MeasuredShares", "GroupComparison", "Contrast", "GroupSpread", "measured_shares", "compare_groups", "chi2_per_dof",
    # the GSD trajectory conventions
    "CATION_TYPE", "ANION_TYPE", "SOLVENT_TYPE", "PAIR_BOND_TYPE", "GSDWriter", "read_frames", "read_log",
    "frame_count", "trajectory_log", "LOG_TIMESTEP", "LOG_FRAME_INTERVAL", "LOG_KT", "LOG_CONCENTRATION", "LOG_BJERRUM_LENGTH",
    # figures
    "pyplot", "save_figure",
    # what the built-in plugins need beyond the above (API 1.3): the registry a hook receives; a simulator's
    # model, Ewald parameters and imported trajectories; a descriptor's element stand-ins; a model's
    # posterior and scores; an analysis's species notes
    "PluginRegistry", "TYPES", "Topology", "build_topology", "initial_positions", "ewald_parameters",
    "ImportOptions", "frames_of", "is_gsd", "STAND_IN_ELEMENTS", "species_in_element_order", "species_subset",
    "stand_in_number", "label_rows", "local_variance", "posterior_covariance", "prediction_scores", "r2_score",
    "retained_heap", "species_notes",
    # an analysis option type for distance-bin edges, validated; periodic boundaries in one place (API 1.4)
    "DistanceBinEdges", "wrap", "unwrap", "minimum_image",
    # the shares' profiled likelihood of the within-system shape, and k = ḡ + d − d̄ (API 2.2)
    "ShapeGroups", "ShapeFit", "fit_shape", "data_shape_groups", "profiled_offsets", "profiled_normal_equations", "decomposed_k",
    "share_level_data", "shape_design", "shape_design_scale",
    # the level of k from both label kinds in one likelihood (API 2.3)
    "SHARE_WEIGHTS", "JointLevel", "SystemStatistics", "fit_joint_level", "system_statistics",
    # what the SOAP descriptor plugins share: their common options and species (API 2.2)
    "SOAPOptions", "SOAPDescriptor",
    # the analysis template: the base owns the loop over systems (API 1.4)
    "SystemAnalysis", "SystemView", "row_columns",
    # typed results (API 2.0: AnalysisInputs.transport and .predictions hold these, not rows)
    "SystemTransport", "Prediction", "Estimate", "SpeciesTransport", "TransportWindow", "LabelCheck",
    "AttributionSummary",
    # what several analyses share (API 2.1): the confidence filter's option type, the medians and negative
    # share of k, a measured check's summary numbers, the identity line of a parity-style panel
    "MaxRelativeUncertainty", "finite_median", "negative_percent", "agreement_numbers", "identity_line",
]


def require_api(version: str) -> None:
    """Raise ``ImportError`` unless this API is compatible with ``version`` (same major, at least that minor).

    >>> require_api("2.0")
    >>> require_api("3.0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ImportError: this plugin needs localcond API 3.0; this localcond has 2... (same major version, minor 0 or later)
    """
    wanted_major, wanted_minor = (int(part) for part in version.split(".")[:2])
    major, minor = (int(part) for part in API_VERSION.split(".")[:2])
    if wanted_major != major or wanted_minor > minor:
        raise ImportError(f"this plugin needs localcond API {version}; this localcond has {API_VERSION} "
                          f"(same major version, minor {wanted_minor} or later)")
