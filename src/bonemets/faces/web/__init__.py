"""The clinician web app."""
