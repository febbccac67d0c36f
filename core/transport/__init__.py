"""The transport stage: Onsager coefficients, conductivity and molar conductivity (paper eqs. 6–8)."""

from core.transport.onsager import (ReplicaCurves, ReplicaTransport, TransportFit, replica_curves,
                                    replica_transport, system_transport)

__all__ = ["ReplicaCurves", "ReplicaTransport", "TransportFit", "replica_curves", "replica_transport",
           "system_transport"]
