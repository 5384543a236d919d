"""The switchboard directory domain: model, normalisation, presence, ranking (stdlib only)."""
