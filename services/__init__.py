"""WMI2's services: api, worker, events, the shared common package, and the cli that runs them."""
