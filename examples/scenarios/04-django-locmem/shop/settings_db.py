"""Scenario 4, the fix: sessions in the database, one SQLite file every instance opens.

Everything else is shop/settings.py. devcluster-db.yaml selects this module with
DJANGO_SETTINGS_MODULE, and runs "manage.py migrate" (which creates the django_session
table) before each instance starts.
"""

from .settings import *  # noqa: F401,F403
from .settings import BASE_DIR

SESSION_ENGINE = "django.contrib.sessions.backends.db"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
