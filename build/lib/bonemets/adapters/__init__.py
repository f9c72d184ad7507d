"""Adapters at the edge: storage, web, FHIR, Spark. The core never imports them."""
