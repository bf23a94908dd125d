"""The one assistant service every surface (Slack, REST, web chat, CLI) calls."""
