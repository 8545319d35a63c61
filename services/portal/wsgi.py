"""The WSGI app for gunicorn: ``gunicorn -c services/portal/gunicorn.conf.py services.portal.wsgi:app``.

Workers never migrate (several at once would race): ``python -m services.portal migrate``
runs first in production, and gunicorn.conf.py's ``on_starting`` does it once in the
master otherwise.
"""
from services.portal.entrypoints.web import create_app

app = create_app(create_schema=False)
