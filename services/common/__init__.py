"""What the services share: settings, names, schemas and Redis keys. Imports no service."""
