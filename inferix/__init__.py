"""Inferix: the SDK and the plumbing shared by the manager, oracle and worker nodes."""

__version__ = "0.1.0"
