"""dialplan."""
