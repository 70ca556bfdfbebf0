"""The FastAPI gateway: the JSON surface of Envoy, generated from the same annotations."""
