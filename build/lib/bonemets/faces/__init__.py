"""The faces people and other systems use: the web app and its APIs, the CDS Hooks service and
the command line. Each calls the services and the core; nothing in the core or the services
imports a face."""
