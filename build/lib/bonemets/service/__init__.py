"""Application services: the use cases of the web app and CLI (submit a symptom report, record a
dose, build a worklist, acknowledge an alert), orchestrating the clinical core and storage.
Access rules and auditing live here, so every face (pages, JSON API, CLI) enforces the same ones.
"""
