"""Storage core of the Matyan backend: engines, runs, series, entities, indexes and blobs."""
