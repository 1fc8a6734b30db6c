"""The HTTP service: ``origin-rules serve`` (FastAPI, served by uvicorn).

In: rule files, an audit store URL, HTTP requests. Out: determinations, batch jobs and
stored records as JSON (:mod:`origin_rules.service.app` lists the endpoints), every
determination appended to the audit store (:mod:`origin_rules.audit`). Modules: ``app``
(the application and its routes), ``bodies`` (request bodies -> BOMs with the CLI's
readers), ``jobs`` (batch jobs on a background thread), ``errors`` (JSON errors),
``schemas`` (response models for the OpenAPI schema).
"""

from .app import Settings, create_app

__all__ = ["Settings", "create_app"]
