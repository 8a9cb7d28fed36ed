"""The real argilla-server on one machine: its own venv, SQLite, our Redis, its rq worker, its web UI,
and the studio's SQL search engine in place of Elasticsearch (docs/annotation.md).

Two sides: `venv.py` and `server.py` run in the studio's venv and start processes; `launch.py`,
`sql_engine.py` and `sql_filters.py` run inside the server's venv (argilla_server + sqlalchemy only).
Nothing is imported here, so the server's interpreter can load `annotation.local_server.launch`.
"""
