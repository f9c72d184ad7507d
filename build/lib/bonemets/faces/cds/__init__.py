"""CDS Hooks 2.0 service (discovery, patient-view, order-sign) over the clinical core.

Mount with ``app.include_router(bonemets.faces.cds.router)``; see ``service.py``.
"""

from bonemets.faces.cds.service import router

__all__ = ["router"]
