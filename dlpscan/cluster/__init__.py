"""`dlpscan scan --cluster`: file tasks on a Dask distributed cluster (the `cluster` extra).

Import this package only when a cluster is asked for: it needs `distributed`.
"""

from dlpscan.cluster.executor import ClusterError, ClusterLost, DaskExecutor
from dlpscan.cluster.worker import WorkerLimits

__all__ = ["ClusterError", "ClusterLost", "DaskExecutor", "WorkerLimits"]
