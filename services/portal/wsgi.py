"""The WSGI app for gunicorn: ``gunicorn -c services/portal/gunicorn.conf.py services.portal.wsgi:app``."""
from services.portal.entrypoints.web import create_app

app = create_app()
