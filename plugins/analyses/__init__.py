"""Built-in analysis plugins, registered through the ``localcond`` entry-point group like any other package's."""

from __future__ import annotations

from core.api import AnalysisPlugin, PluginRegistry, hookimpl

from .cluster_nernst_einstein import ClusterNernstEinstein
from .heterogeneity import Heterogeneity
from .local_attribution import LocalAttribution
from .local_distribution import LocalDistribution
from .onsager_relations import OnsagerRelations
from .mechanisms import Mechanisms
from .parity import Parity
from .spatial_correlation import SpatialCorrelation

#: The built-in analysis plugin classes.
BUILTIN: list[type[AnalysisPlugin]] = [Parity, LocalDistribution, Heterogeneity, SpatialCorrelation,
                                       OnsagerRelations, ClusterNernstEinstein, LocalAttribution, Mechanisms]


@hookimpl
def localcond_register_analyses(registry: PluginRegistry) -> list[type[AnalysisPlugin]]:
    return list(BUILTIN)
