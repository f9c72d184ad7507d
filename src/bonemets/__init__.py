"""bonemets: clinical decision support for people with bone metastases.

It supports, and does not replace, the judgement of the clinicians caring for a patient.
"""

__version__ = "0.1.0"

# Identifies the rule set: stored results carry it so they can be traced to the rules that made them.
ENGINE_VERSION = __version__
