"""Scenario 4: Django sessions on the cache, and the cache is LocMemCache.

SESSION_ENGINE "cache" keeps sessions in the default cache, and the default cache is
LocMemCache: a dict in each process ("local memory" means exactly that). One runserver:
fine. Three behind a balancer: a session exists in one of them. settings_db.py is the fix.
Works with Django 3.2 (Debian's python3-django) and newer.
"""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# The same key in every instance (it comes from this file), so signing is not the problem
# here (see scenario 1 for that one). A workshop key: never reuse it.
SECRET_KEY = "workshop-scenario-4-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["django.contrib.sessions"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
ROOT_URLCONF = "shop.urls"

# THE BUG with more than one process: sessions in a per-process memory cache.
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

DATABASES = {}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
