"""Statistics and reports computed from the journal (docs/metrics.md)."""
