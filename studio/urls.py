"""Headroom's URLs."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path
from django.views.generic.base import RedirectView

from studio.login import LoginView, ThrottledAdminAuthenticationForm

# The admin's login goes through the same throttle and says so when it refuses.
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("jobs.urls")),
    # Browsers ask for /favicon.ico whatever the page links; send them to the static file.
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}favicon.ico")),
]

if not settings.PRODUCTION:
    # The embedded default has no nginx in front and DEBUG is off unless asked for, so the app
    # serves its own static files (in production nginx does, from STATIC_ROOT).
    urlpatterns.append(re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}))
