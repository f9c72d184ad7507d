"""Drawings shared by more than one face (the web page and the printed care plan)."""
