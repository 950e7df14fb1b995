"""guideminer: mine guidelines and departments from support conversations; run the agent offline."""

__version__ = "0.1.0"
