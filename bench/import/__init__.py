"""``python -m bench.import``: a bulk import of 10 000 CSV rows with 1 000 images through real
worker processes, NATS and Postgres (rows/s, images/s), and the CSV parse+validate stage of
``vitrina_common.imports`` against a plain ``csv`` module loop over the same file.

The package is named after the issue's ``bench/import``. ``import`` is a keyword, so no
statement can import this package (``import bench.import`` is a syntax error), but
``python -m bench.import`` runs it (runpy takes the name as a string) and mypy checks it;
its modules use relative imports among themselves for the same reason.
"""
