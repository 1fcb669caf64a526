"""The HTTP facade: Trigger.dev's management API over the run service."""

from durableruns.api.app import create_app

__all__ = ["create_app"]
