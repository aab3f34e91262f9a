"""`council mcp`: Council's tools for any MCP-capable agent, served over stdio or streamable HTTP.

The server is an HTTP client of a running Council (through `bot.client`), acting for one agent: it
never touches the database, so it runs wherever the agent runs.
"""
