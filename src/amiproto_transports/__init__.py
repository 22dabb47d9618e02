"""Transports over the amiproto core: sync socket, asyncio and trio clients, and a simulator."""
