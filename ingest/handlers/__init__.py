"""Pipeline stages, one module each with one ``process(ctx)``; their order is in ingest/pipeline.py."""
