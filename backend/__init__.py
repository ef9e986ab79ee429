"""The manager node: task preparation (noise embedding), matching, key reveals and the indexer."""
