"""HTTP API of the Matyan backend: FastAPI routes served by granian."""
