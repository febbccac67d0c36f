"""The transport stage: Onsager coefficients, conductivity and molar conductivity (paper eqs. 6–8)."""

from core.transport.onsager import ReplicaTransport, aggregate_replicas, replica_transport

__all__ = ["ReplicaTransport", "aggregate_replicas", "replica_transport"]
