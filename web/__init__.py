"""The staff web app: read the queue, check and correct applications, rank them. Served by `uip-intake serve`."""

from web.app import create_app

__all__ = ["create_app"]
