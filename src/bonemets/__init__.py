"""bonemets: clinical decision support for people with bone metastases.

It supports, and does not replace, the judgement of the clinicians caring for a patient.
"""

__version__ = "0.2.0"

# Identifies the rule set: a stored result carries it, tracing it to the rules that made it.
ENGINE_VERSION = __version__
