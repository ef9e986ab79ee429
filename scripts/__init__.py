"""Ape scripts (`ape run scripts/<name>.py`); importable so that tests and benchmarks reuse `deploy_all`."""
