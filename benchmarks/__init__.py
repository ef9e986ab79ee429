"""Benchmarks: run each as a module from the checkout, e.g. ``python -m benchmarks.gas`` (a regular package, so that
no installed top-level ``benchmarks`` package shadows it)."""
