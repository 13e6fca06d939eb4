import os

from django.http import HttpResponse, JsonResponse

ME = os.environ.get("PS", "standalone")


def text(body):
    return HttpResponse(body, content_type="text/plain; charset=utf-8")


def index(request):
    user = request.session.get("user")
    if user:
        return text(f"{ME}: logged in as {user}\n")
    return text(f"{ME}: logged out (log in at /login?user=alice)\n")


def login(request):
    user = request.GET.get("user", "alice")
    request.session["user"] = user
    request.session.save()
    return text(
        f"{ME}: logged in as {user} (your session lives on {ME})\n"
        f"Now reload http://{request.get_host()}/ a few times, or ask every instance at once:\n"
        f"  devcluster probe /whoami -H 'Cookie: sessionid={request.session.session_key}'\n"
    )


def whoami(request):
    return JsonResponse({"user": request.session.get("user")})


def health(request):
    return text("ok\n")
