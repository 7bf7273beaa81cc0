"""ASGI entry point for uvicorn/gunicorn: `app.asgi:app`."""

from app.main import create_app

app = create_app()
