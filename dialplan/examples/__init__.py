"""Sample routing configurations (data, shipped with the package: setup.cfg package_data)."""
