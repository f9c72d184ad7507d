"""The pure clinical core: records in, decisions out.

No I/O beyond reading the packaged knowledge files, no web, no database. Every face of the
system (CLI, web, CDS Hooks, population jobs) calls these functions.
"""
