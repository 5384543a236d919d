"""agent_ui."""
