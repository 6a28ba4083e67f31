"""The ``wmi2`` command: runs the services, alone or all together, and sets up what they need."""
