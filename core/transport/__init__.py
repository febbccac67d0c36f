"""The transport stage: Onsager coefficients, conductivity and molar conductivity (paper eqs. 6–8)."""

from core.transport.curves import ReplicaCurves
from core.transport.onsager import ReplicaTransport, TransportFit, system_transport
from core.transport.replica_files import replica_curves, replica_transport

__all__ = ["ReplicaCurves", "ReplicaTransport", "TransportFit", "replica_curves", "replica_transport",
           "system_transport"]
