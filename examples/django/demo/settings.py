"""Settings for the devcluster Django demo: as small as Django allows.

No database, no admin, no sessions: the demo's state lives in each process's memory on
purpose (see views.counter), and without a database `runserver` has no migrations to nag
about. Works with Django 3.2 (Debian's python3-django) and newer.
"""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# A demo key for a demo that only listens on 127.0.0.1. Never reuse it.
SECRET_KEY = "devcluster-demo-not-secret"

DEBUG = True

# The proxy keeps the client's Host header (as nginx's `proxy_set_header Host $host` does),
# so requests arrive as "127.0.0.1:8080", "localhost:8080", or whatever name the browser
# used. '*' accepts them all; fine on loopback, never in production.
ALLOWED_HOSTS = ["*"]

# No app needs models or migrations.
INSTALLED_APPS = []

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "demo.urls"

# No database at all: Django uses its dummy backend and runserver skips the migration check.
DATABASES = {}

USE_TZ = True

DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
