"""sparkfolio: classic machine-learning workloads as distributed Spark batch jobs."""

__version__ = "0.1.0"
