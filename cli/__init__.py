"""The ``uip-intake`` command: wires the worker (ingest), the web app (web) and the operators' commands.
Nothing imports it back."""
