"""The pure domain of Sentral: tenants, queues, agents, interactions, routing.

Rules: standard library only (no gevent, socket, SQL, Flask, greenswitch); time is
injected; decisions return effects that adapters perform. tests/test_boundaries.py
guards this.
"""
