"""The same endpoints as the Flask example: which instance answered, /health, /counter.

devcluster sets PORT and PS (e.g. "web.2") for every instance; the views only read them.
"""

import os
import threading

from django.http import HttpResponse, JsonResponse

# Per-process state: through the balancer every instance keeps its own count, which is
# exactly what breaks in-memory sessions and caches when a site runs on several processes.
_counter = 0
_counter_lock = threading.Lock()  # runserver handles each request in its own thread


def _identity():
    return {
        "instance": os.environ.get("PS", "standalone"),
        "pid": os.getpid(),
        "port": os.environ.get("PORT", "?"),
    }


def _wants_json(request):
    return request.GET.get("format") == "json" or "application/json" in request.headers.get("Accept", "")


def _reply(request, data, text):
    if _wants_json(request):
        return JsonResponse(data)
    return HttpResponse(text + "\n", content_type="text/plain")


def index(request):
    me = _identity()
    return _reply(request, me, "Hello from {instance} (pid {pid}, port {port})".format(**me))


def health(request):
    return HttpResponse("ok\n", content_type="text/plain")


def counter(request):
    global _counter
    with _counter_lock:
        _counter += 1
        value = _counter
    me = _identity()
    me["counter"] = value
    return _reply(request, me, "{instance} has served /counter {counter} times (pid {pid})".format(**me))
