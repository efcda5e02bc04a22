"""Wire models of the Matyan stack (client, frontier, backend), mirroring matyan-api-models 0.2.1."""
