"""Annotation: the studio's side of Argilla (publish, sync, export) and the agreement measures.

The only package allowed to import `argilla` (architecture §2); `annotation.agreement` is pure Python
so that it can be tested, and used by the gate, without an Argilla server or SDK.
"""
