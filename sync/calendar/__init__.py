"""Calendar sync: sources → absence intervals (see README.md and docs/sync.md)."""
