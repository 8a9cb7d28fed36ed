"""Workers: the only package that imports torch, transformers and peft.

Importing `workers` itself stays cheap (no ML imports here) so the Celery worker process starts and
registers its tasks before any heavy library is loaded.
"""
