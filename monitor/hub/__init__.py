"""The hub: websocket server for publishers and dashboards (see docs/hub-protocol.md)."""

from monitor.hub.auth import Grant, Tokens
from monitor.hub.config import HubConfig
from monitor.hub.connections import Hub
from monitor.hub.server import serve_hub

__all__ = ["Grant", "Hub", "HubConfig", "Tokens", "serve_hub"]
