"""HTTP API routers of the manager backend."""
