"""HTTP API routers of the manager backend: one package per resource (``auth``, ``scenes``, ``jobs``, ``reads``),
each with its models apart from its routes; ``deps`` holds what the routers share. The API depends on the
coordination (``backend.quote``, ``backend.state``) and the indexer, never the other way round."""
