"""Synthetic demo data: a seeded cohort of fictional patients (web demo, tests, benchmarks).

Nothing here describes a real person.
"""

from bonemets.demo.cohort import DemoPatient, make_cohort

__all__ = ["DemoPatient", "make_cohort"]
