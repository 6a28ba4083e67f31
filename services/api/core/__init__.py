"""The API's logic, kept apart from HTTP routing so that it can be tested and reused."""
