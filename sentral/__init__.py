"""Sentral: the composition root and command line of the contact-centre engine.

Nothing here holds domain logic; it builds adapters (esl/, store/, agent_ui/, sync/)
around the pure domain in engine/ and wires them together.
"""
__version__ = "0.1.0"
