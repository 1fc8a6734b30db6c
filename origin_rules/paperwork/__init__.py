"""Paperwork: certifications of origin for goods that qualify (``origin-rules certify``).

Beside ``batch``, ``diff`` and ``ruletests``: it reads BOMs (``files``), evaluates them
(``rulebook``) and writes documents; nothing below imports it (docs/architecture.md).
"""
